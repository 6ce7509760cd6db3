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
