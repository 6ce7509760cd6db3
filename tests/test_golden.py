"""Golden examples in before_after/<codemod>/, discovered by glob, compared byte for byte.

- ``<case>.before.py`` is rewritten with every codemod (as ``asyncfix`` does by default) and
  must equal ``<case>.after.py`` exactly; ``<case>.noop.py`` must come out unchanged.
- ``<case>.diagnostics`` lists the expected diagnostics, one ``line:col: CODE message`` per
  line (no file: none expected).
- Every expected output compiles and is a fixed point.

``pytest --regen-goldens`` rewrites the expected files from the current output, on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from conftest import DEFAULT_SETTINGS, GOLDEN
from asyncfix.codemods.engine import transform_source
from asyncfix.codemods.project import ProjectIndex

INPUTS = sorted(GOLDEN.glob("*/*.before.py")) + sorted(GOLDEN.glob("*/*.noop.py"))


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _run(source: bytes, path: Path):
    return transform_source(source, _case_id(path), DEFAULT_SETTINGS, ProjectIndex())


def _diagnostic_lines(outcome) -> List[str]:
    return [f"{d.line}:{d.column}: {d.code} {d.message}" for d in outcome.diagnostics]


def test_goldens_exist():
    assert INPUTS, "no golden examples found"


@pytest.mark.parametrize("before", INPUTS, ids=_case_id)
def test_golden(before: Path, regen: bool):
    source = before.read_bytes()
    outcome = _run(source, before)
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
