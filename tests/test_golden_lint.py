"""Code a reviewer accepts as written (issue 19): every golden output whose input passes ruff's
import-order, pycodestyle-error and pyflakes rules (``ruff check --select I,E,F``) passes them
too, and is formatted as black leaves it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from conftest import GOLDEN

PAIRS = sorted(GOLDEN.glob("*/*.before.py"))


def _after(before: Path) -> Path:
    return before.with_name(before.name.replace(".before.py", ".after.py"))


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> Dict[Path, List[str]]:
    """What ruff finds in each golden file (input and expected output), from one ruff run.

    Each file is copied alone into a folder of its own as ``module.py``, so ruff's isort rules
    see no neighbours to take for first-party modules, as with a single file."""
    root = tmp_path_factory.mktemp("golden-lint")
    copies: Dict[Path, Path] = {}
    for number, before in enumerate(PAIRS):
        for source in (before, _after(before)):
            folder = root / f"{'after' if source.name.endswith('.after.py') else 'before'}{number}"
            folder.mkdir()
            copies[source] = folder / "module.py"
            shutil.copyfile(source, copies[source])
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
            ".",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        timeout=120,
    )
    by_copy: Dict[Path, List[str]] = {copy.resolve(): [] for copy in copies.values()}
    for d in json.loads(completed.stdout):
        by_copy[Path(d["filename"]).resolve()].append(
            f"{d['location']['row']}: {d['code']} {d['message']}"
        )
    return {source: by_copy[copy.resolve()] for source, copy in copies.items()}


def test_one_ruff_run_sees_every_file(findings: Dict[Path, List[str]]):
    # The shared run linted the copies: some golden inputs do not pass these rules themselves
    # (the skips below), so a run that found nothing anywhere linted nothing.
    assert len(findings) == 2 * len(PAIRS)
    assert any(lines for lines in findings.values()), "ruff reported nothing at all"


@pytest.mark.parametrize("before", PAIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_output_passes_the_lint_its_input_passes(findings: Dict[Path, List[str]], before: Path):
    if findings[before]:
        pytest.skip("the input does not pass ruff I,E,F itself")
    assert findings[_after(before)] == []


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
