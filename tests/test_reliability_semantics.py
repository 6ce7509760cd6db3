"""Semantics guard over every golden pair (issue 9): a rewrite must not turn working code into
code that fails at runtime. The runtime tests of each codemod are the main guard; this one
catches what a rewrite most easily breaks everywhere: names and imports.

- Import: each ``*.after.py`` (and each module of a ``*.after/`` project) is imported in a
  fresh subprocess (with a timeout). A module whose input imported cleanly must import
  cleanly; a NameError is a failure whatever the input did; an ImportError for a package the
  test environment lacks is a skip only when the input failed the same way.
- Undefined names in function bodies (which an import does not run): ruff's F821 on each
  output may report only names it also reports on the input.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from conftest import GOLDEN

AFTERS = sorted(GOLDEN.glob("*/*.after.py"))
PROJECTS = sorted(p for p in GOLDEN.glob("*/*.after") if p.is_dir())

# Imports every module named on the command line (path, or folder:dotted.name) in isolation
# and prints one JSON result per module: null, or [exception type, message].
_IMPORTER = r"""
import importlib, importlib.util, json, sys, traceback
results = {}
for spec_text in sys.argv[1:]:
    try:
        if ":" in spec_text:
            folder, name = spec_text.split(":")
            sys.path.insert(0, folder)
            try:
                importlib.import_module(name)
            finally:
                sys.path.remove(folder)
        else:
            name = "golden_" + str(len(results))
            spec = importlib.util.spec_from_file_location(name, spec_text)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        results[spec_text] = None
    except BaseException as error:
        results[spec_text] = [type(error).__name__, str(error)]
print(json.dumps(results))
"""


def _import_all(targets: List[str], cwd: Path) -> Dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTER, *targets],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _twin(after: Path) -> Path:
    return after.with_name(after.name.replace(".after.py", ".before.py"))


@pytest.fixture(scope="module")
def import_results(tmp_path_factory) -> Dict[str, object]:
    # Run in an empty directory: modules that create files (SQLite databases) do it there.
    cwd = tmp_path_factory.mktemp("imports")
    targets = [str(p) for after in AFTERS for p in (_twin(after), after)]
    return _import_all(targets, cwd)


def _judge(before_result, after_result, label: str) -> None:
    if after_result is None:
        return
    kind, message = after_result
    assert kind != "NameError", f"{label}: the rewrite introduced a NameError: {message}"
    if before_result is None:
        pytest.fail(f"{label}: the input imports but the output raises {kind}: {message}")
    if list(before_result) == list(after_result) or (
        kind in ("ModuleNotFoundError", "ImportError") and before_result[0] == kind
    ):
        pytest.skip(
            f"{label}: not importable here, input and output alike (output: {kind}: {message}; "
            f"input: {before_result[0]}: {before_result[1]})"
        )
    pytest.fail(f"{label}: the output raises {kind}: {message}; the input raised {before_result}")


@pytest.mark.parametrize("after", AFTERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rewritten_module_imports_wherever_the_input_did(after: Path, import_results):
    _judge(import_results[str(_twin(after))], import_results[str(after)], after.name)


def _modules(folder: Path) -> List[str]:
    return [
        ".".join(p.relative_to(folder).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    ]


@pytest.mark.parametrize("after", PROJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rewritten_project_modules_import_wherever_the_input_did(after: Path, tmp_path: Path):
    before = after.with_name(after.name[: -len(".after")] + ".before")
    results: Dict[str, Dict[str, object]] = {}
    for side, folder in (("before", before), ("after", after)):
        copy = tmp_path / side
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        results[side] = _import_all([f"{copy}:{name}" for name in _modules(copy)], tmp_path)
    for name in _modules(after):
        _judge(
            results["before"].get(f"{tmp_path / 'before'}:{name}", None),
            results["after"][f"{tmp_path / 'after'}:{name}"],
            f"{after.name}/{name}",
        )


def _undefined_names(paths: List[Path]) -> Dict[str, List[Tuple[str, int]]]:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    done = subprocess.run(
        [
            ruff,
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "F821",
            "--output-format",
            "json",
            "--exit-zero",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found: Dict[str, List[Tuple[str, int]]] = {str(p): [] for p in paths}
    for item in json.loads(done.stdout):
        name = item["message"].split("`")[1] if "`" in item["message"] else item["message"]
        found[str(Path(item["filename"]))].append((name, item["location"]["row"]))
    return found


def test_no_rewrite_introduces_an_undefined_name():
    outputs = AFTERS + sorted(p for folder in PROJECTS for p in folder.rglob("*.py"))
    inputs = []
    for after in outputs:
        if after.name.endswith(".after.py"):
            inputs.append(_twin(after))
        else:
            project = next(parent for parent in after.parents if parent.name.endswith(".after"))
            twin = project.with_name(
                project.name[: -len(".after")] + ".before"
            ) / after.relative_to(project)
            inputs.append(twin)
    found = _undefined_names([p for p in outputs + inputs if p.exists()])
    assert len(outputs) > 40
    problems = []
    for after, before in zip(outputs, inputs):
        known = {name for name, _ in found.get(str(before), [])}
        new = [(name, row) for name, row in found[str(after)] if name not in known]
        if new:
            problems.append(f"{after.relative_to(GOLDEN)}: undefined {new}")
    assert not problems, "\n".join(problems)
