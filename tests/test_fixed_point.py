"""One run is a fixed point, and ``--check`` after ``--apply`` says what is left (issue 15).

For every golden input (the single-file cases as one project, each multi-module case as its own
project): ``--apply`` once, then ``--apply`` again must write nothing; ``--check`` on the result
must exit 0 exactly when asyncfix has nothing left to report, and report what the second
``--apply`` reported, at the same lines (the file as written)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from asyncfix.cli import main
from click.testing import CliRunner
from conftest import GOLDEN

SINGLE = sorted(GOLDEN.glob("*/*.before.py")) + sorted(GOLDEN.glob("*/*.noop.py"))
PROJECTS = sorted(p for p in GOLDEN.glob("*/*.before") if p.is_dir())


def _tree(root: Path) -> Dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def _invoke(root: Path, *args: str) -> Tuple[int, List[str]]:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(
            main, [*args, "--no-cache", "--jobs", "2", "-q", "."], catch_exceptions=False
        )
    finally:
        os.chdir(cwd)
    diagnostics = sorted(
        line
        for line in result.stdout.splitlines()
        if line.count(":") >= 3
        and " " in line
        and not line.startswith(("---", "+++", "@@", "+", "-", " "))
    )
    return result.exit_code, diagnostics


def _check_fixed_point(root: Path) -> None:
    (root / "pyproject.toml").write_text("")
    code, _ = _invoke(root, "--apply")
    assert code in (0, 2), "the first --apply failed outright"
    once = _tree(root)
    code, second = _invoke(root, "--apply")
    again = _tree(root)
    changed = sorted(path for path in once if once[path] != again[path])
    assert not changed, f"a second --apply changed {changed}"
    code, checked = _invoke(root, "--check")
    failed = code == 2
    if not failed:
        assert code == (1 if checked else 0), checked
    assert checked == second


def test_single_file_goldens_apply_twice_is_apply_once(tmp_path: Path):
    for before in SINGLE:
        target = (
            tmp_path
            / before.parent.name
            / before.name.replace(".before.py", ".py").replace(".noop.py", "_noop.py")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(before, target)
    _check_fixed_point(tmp_path)


@pytest.mark.parametrize("before", PROJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_projects_apply_twice_is_apply_once(tmp_path: Path, before: Path):
    root = tmp_path / "project"
    shutil.copytree(before, root, ignore=shutil.ignore_patterns("__pycache__"))
    _check_fixed_point(root)
