"""Golden examples in before_after/<codemod>/, discovered by glob, compared byte for byte.

- ``<case>.before.py`` is rewritten with every codemod (as ``asyncfix`` does by default) and
  must equal ``<case>.after.py`` exactly; ``<case>.noop.py`` must come out unchanged.
- ``<case>.diagnostics`` lists the expected diagnostics, one ``line:col: CODE message`` per
  line (no file: none expected).
- Every expected output compiles and is a fixed point.
- A multi-module case is a folder pair ``<case>.before/`` -> ``<case>.after/``: the whole
  folder is one project (the await machinery resolves calls across its modules), and every
  file must come out as its twin in ``.after/``.

``pytest --regen-goldens`` rewrites the expected files from the current output, on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from asyncfix.codemods.engine import CHANGED, FAILED, Settings, run, transform_standalone
from asyncfix.codemods.files import discover
from conftest import DEFAULT_SETTINGS, GOLDEN, golden_case, golden_outcome

INPUTS = sorted(GOLDEN.glob("*/*.before.py")) + sorted(GOLDEN.glob("*/*.noop.py"))


_case_id = golden_case


def _run(source: bytes, path: Path):
    return transform_standalone(source, _case_id(path), DEFAULT_SETTINGS)


def _diagnostic_lines(outcome) -> List[str]:
    return [f"{d.line}:{d.column}: {d.code} {d.message}" for d in outcome.diagnostics]


def test_goldens_exist():
    assert INPUTS, "no golden examples found"


@pytest.mark.parametrize("before", INPUTS, ids=_case_id)
def test_golden(before: Path, regen: bool):
    outcome = golden_outcome(before)
    noop = before.name.endswith(".noop.py")
    after = before if noop else before.with_name(before.name.replace(".before.py", ".after.py"))
    expected_diagnostics = before.with_name(
        before.name.replace(".before.py", "").replace(".noop.py", "") + ".diagnostics"
    )
    actual_diagnostics = _diagnostic_lines(outcome)
    if regen:
        if not noop:
            after.write_bytes(outcome.new)
        if actual_diagnostics:
            expected_diagnostics.write_text("\n".join(actual_diagnostics) + "\n")
        elif expected_diagnostics.exists():
            expected_diagnostics.unlink()
    assert outcome.new == after.read_bytes()
    expected = (
        expected_diagnostics.read_text().splitlines() if expected_diagnostics.exists() else []
    )
    assert actual_diagnostics == expected


@pytest.mark.parametrize("after", sorted(GOLDEN.glob("*/*.after.py")), ids=_case_id)
def test_expected_output_is_a_fixed_point(after: Path):
    source = after.read_bytes()
    compile(source, str(after), "exec")
    assert _run(source, after).new == source


@pytest.mark.parametrize("after", sorted(GOLDEN.glob("*/*.after.py")), ids=_case_id)
def test_every_expected_output_has_its_input(after: Path):
    assert after.with_name(after.name.replace(".after.py", ".before.py")).exists()


PROJECTS = sorted(p for p in GOLDEN.glob("*/*.before") if p.is_dir())


def _run_project(folder: Path):
    files, errors = discover([str(folder)], ())
    assert not errors
    settings = Settings(DEFAULT_SETTINGS.codemods, DEFAULT_SETTINGS.black_mode, root=str(folder))
    results = list(run(files, settings, jobs=1))
    assert not [r for r in results if r.status == FAILED], [r.error for r in results]
    return results


def _tree(folder: Path):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("before", PROJECTS, ids=_case_id)
def test_golden_project(before: Path, regen: bool):
    after = before.with_name(before.name[: -len(".before")] + ".after")
    results = _run_project(before)  # one whole-program run gives the outputs and diagnostics
    outputs = {}
    for result in results:
        relative = Path(result.path).relative_to(before.resolve()).as_posix()
        outputs[relative] = (
            result.new if result.status == CHANGED else Path(result.path).read_bytes()
        )
    diagnostics = [
        f"{Path(r.path).relative_to(before.resolve()).as_posix()}:{d.line}:{d.column}: {d.code} {d.message}"
        for r in results
        for d in r.diagnostics
    ]
    expected_diagnostics = before.with_name(before.name[: -len(".before")] + ".diagnostics")
    if regen:
        for relative, data in outputs.items():
            (after / relative).parent.mkdir(parents=True, exist_ok=True)
            (after / relative).write_bytes(data)
        if diagnostics:
            expected_diagnostics.write_text("\n".join(diagnostics) + "\n")
        elif expected_diagnostics.exists():
            expected_diagnostics.unlink()
    assert outputs == _tree(after)
    expected = (
        expected_diagnostics.read_text().splitlines() if expected_diagnostics.exists() else []
    )
    assert diagnostics == expected


@pytest.mark.parametrize("before", PROJECTS, ids=_case_id)
def test_golden_project_output_is_a_fixed_point(before: Path):
    after = before.with_name(before.name[: -len(".before")] + ".after")
    for path, data in _tree(after).items():
        compile(data, path, "exec")
    assert all(r.status != CHANGED for r in _run_project(after))
