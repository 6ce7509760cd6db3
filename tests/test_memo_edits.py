"""Edits that move facts between files, in a row, with the cache on (kept index, kept rewrites
per round, codemods/memo.py and kept_index.py): after each, a run prints what a run without the
cache prints. The edits: a def added, removed again, a def renamed, a def made async (or sync),
everything reverted; on every multi-module golden project, on each file that has a def, and on a
two-file tree where a.py's helper made async gives b.py an await."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import List

import pytest
from asyncfix.codemods import cache
from conftest import GOLDEN
from test_cache import _run

PROJECTS = sorted(p for p in GOLDEN.glob("*/*.before") if p.is_dir())
DEF = re.compile(r"^(async )?def (\w+)", re.M)


def _edits(text: str) -> List[str]:
    """The texts of one file, edited in a row (module docstring)."""
    found = DEF.search(text)
    assert found is not None
    is_async, name = found.group(1), found.group(2)
    start = found.start()
    renamed = text[:start] + text[start:].replace(f"def {name}", f"def {name}_renamed", 1)
    if is_async:
        flipped = text[:start] + text[start + len("async ") :]
    else:
        flipped = text[:start] + "async " + text[start:]
    added = text + "\n\ndef _asyncfix_added():\n    return 1\n"
    return [added, text, renamed, flipped, text]


def _same_as_cold(tree: Path, source: Path) -> None:
    original = source.read_text()
    for text in _edits(original):
        source.write_text(text)
        kept = _run(tree)
        assert kept.exit_code in (0, 1, 2)
        assert kept.output == _run(tree, "--no-cache").output, (source.name, text)


@pytest.mark.parametrize("before", PROJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_edits_in_a_row_say_what_a_cold_run_says(before: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tree = tmp_path / "project"
    shutil.copytree(before, tree, ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "pyproject.toml").write_text("")
    _run(tree)
    for source in sorted(tree.rglob("*.py")):
        if DEF.search(source.read_text()):
            _same_as_cold(tree, source)


def test_a_helper_made_async_gives_its_caller_an_await(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tree = tmp_path / "project"
    tree.mkdir()
    (tree / "pyproject.toml").write_text("")
    (tree / "a.py").write_text("def helper():\n    return 1\n")
    (tree / "b.py").write_text("from a import helper\n\n\nasync def use():\n    return helper()\n")
    assert "b.py" not in _run(tree).output
    (tree / "a.py").write_text("async def helper():\n    return 1\n")
    made = _run(tree)
    assert "+    return await helper()" in made.output
    assert made.output == _run(tree, "--no-cache").output
    _same_as_cold(tree, tree / "a.py")
