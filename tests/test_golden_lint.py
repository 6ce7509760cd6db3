"""Code a reviewer accepts as written (issue 19): every golden output whose input passes ruff's
import-order, pycodestyle-error and pyflakes rules (``ruff check --select I,E,F``) passes them
too, and is formatted as black leaves it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GOLDEN

PAIRS = sorted(GOLDEN.glob("*/*.before.py"))


def _ruff(path: Path, root: Path) -> list:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "I,E,F",
            "--output-format",
            "json",
            "--exit-zero",
            "--line-length",
            "100",
            path.name,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        timeout=120,
    )
    return [
        f"{d['location']['row']}: {d['code']} {d['message']}" for d in json.loads(completed.stdout)
    ]


@pytest.mark.parametrize("before", PAIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_output_passes_the_lint_its_input_passes(tmp_path: Path, before: Path):
    after = before.with_name(before.name.replace(".before.py", ".after.py"))
    shutil.copyfile(before, tmp_path / "module.py")
    if _ruff(tmp_path / "module.py", tmp_path):
        pytest.skip("the input does not pass ruff I,E,F itself")
    shutil.copyfile(after, tmp_path / "module.py")
    assert _ruff(tmp_path / "module.py", tmp_path) == []


# The families whose emitted code issue 19 covers (the lines they add are asyncfix's own words).
EMIT_FAMILIES = (
    "requests_to_httpx",
    "cpu_to_executor",
    "subprocess_to_asyncio",
    "blocking_to_executor",
    "file_io_to_thread",
    "offload_to_thread",
)


@pytest.mark.parametrize(
    "before",
    [p for p in PAIRS if p.parent.name in EMIT_FAMILIES]
    + sorted(p for f in EMIT_FAMILIES for p in (GOLDEN / f).glob("*.before/*.py")),
    ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}",
)
def test_added_lines_fit_the_default_88_columns(before: Path):
    """Black and ruff default to 88 columns and black leaves comments and docstrings as they
    are: a line asyncfix adds that is longer breaks E501 in a project on the defaults."""
    if before.parent.name.endswith(".before"):
        after = before.parent.with_name(before.parent.name[: -len(".before")] + ".after")
        after = after / before.name
    else:
        after = before.with_name(before.name.replace(".before.py", ".after.py"))
    kept = set(before.read_text().splitlines())
    assert [
        line for line in after.read_text().splitlines() if len(line) > 88 and line not in kept
    ] == []
