"""One name everywhere: module, class NAME, --select value, golden folder, test module, README."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from asyncfix.codemods import BY_NAME, REGISTRY
from asyncfix.codemods.base import Codemod
from conftest import GOLDEN, REPO


def _defines_codemod(stem: str) -> bool:
    """A codemod module defines a named Codemod subclass; every other module of the package is
    machinery or a part of one codemod (nothing to register)."""
    module = importlib.import_module(f"asyncfix.codemods.{stem}")
    return any(
        issubclass(value, Codemod)
        and value is not Codemod
        and value.__module__ == module.__name__
        and "DESCRIPTION" in vars(value)  # its NAME is its first pass's (gates.py)
        for value in vars(module).values()
        if inspect.isclass(value)
    )


MODULES = sorted(
    path.stem
    for path in (REPO / "codemods").glob("*.py")
    if path.stem != "__init__" and not path.stem.startswith("_") and _defines_codemod(path.stem)
)
README = (REPO / "README.md").read_text()


def test_every_codemod_module_is_registered_once():
    assert sorted(codemod.NAME for codemod in REGISTRY) == MODULES
    assert len(BY_NAME) == len(REGISTRY)


@pytest.mark.parametrize("codemod", REGISTRY, ids=lambda c: c.NAME)
def test_codemod_is_named_the_same_everywhere(codemod):
    assert codemod.__module__ == f"asyncfix.codemods.{codemod.NAME}"
    assert codemod.DESCRIPTION and codemod.NEEDS
    docstring = __import__(codemod.__module__, fromlist=["_"]).__doc__
    assert docstring and docstring.startswith(f"{codemod.NAME}: ")
    assert list((GOLDEN / codemod.NAME).glob("*.before.py")), "no golden rewrite cases"
    assert list((GOLDEN / codemod.NAME).glob("*.noop.py")), "no golden no-op cases"
    assert (REPO / "tests" / f"test_{codemod.NAME}.py").exists()
    assert f"| `{codemod.NAME}` |" in README


def test_golden_folders_belong_to_codemods():
    assert {path.name for path in GOLDEN.iterdir() if path.is_dir()} <= set(BY_NAME)


def test_ci_runs_the_readme_test_command_verbatim():
    commands = re.findall(r"```sh\n(.+?)\n```", README)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
