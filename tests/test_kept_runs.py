"""A run that keeps results from earlier runs (the first pass's cache, the kept index, the kept
rewrites per round: codemods/cache.py, kept_index.py, memo.py), after edits, prints exactly what
a fresh ``--no-cache`` run prints.

One test per golden project runs a row of edits with the cache on; after each edit the run is
compared with a fresh run of the same tree state. The fresh run of a state is made once:
``_FRESH``, keyed by the tree's place and the bytes of every file in it. The first run of a row,
with an empty cache, keeps nothing: it is the fresh run of the untouched tree (the state every
row comes back to); the multi-module rows (small projects) check that it says what
``--no-cache`` says. The rows, each path of kept_index.py and memo.py once:

- each codemod's golden cases as one project: the first file gets a comment (the kept index
  holds: the edited file is rewritten alone), then a statement too (a fact moved: the index is
  built again, each other file's kept rewrite holds or not by what it read); then, that edit
  still there, the last file gets a new last line (the kept rewrites of the run before, not of
  the first run, are reused: the edits add up); then both are taken back (the first run's kept
  rewrites, of bytes seen before, hold again);
- each multi-module golden project: every file with a def, in turn, gets its first def renamed
  (a def gone and another added: callers read a name no more defined), made async (or sync),
  everything taken back.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from asyncfix.codemods import cache
from conftest import GOLDEN
from test_cache import _run

CODEMODS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
MULTI_MODULE = sorted(p for p in GOLDEN.glob("*/*.before") if p.is_dir())
DEF = re.compile(r"^(async )?def (\w+)", re.M)

# (the tree's path, a digest of its files' paths and bytes) -> (exit code, output) of a fresh run
_FRESH: Dict[Tuple[str, str], Tuple[int, str]] = {}


def _state(tree: Path) -> Tuple[str, str]:
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(tree)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return str(tree), digest.hexdigest()


def _computed(tree: Path, *args: str) -> Tuple[int, str]:
    result = _run(tree, *args)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def _cold(tree: Path, checked: bool) -> Tuple[int, str]:
    """The row's first run, with an empty cache: kept as the fresh run of this state;
    ``checked``: and compared with a ``--no-cache`` run of it."""
    key, cold = _state(tree), _computed(tree)
    assert key not in _FRESH
    if checked:
        assert cold == _computed(tree, "--no-cache")
    _FRESH[key] = cold
    return cold


def _fresh(tree: Path) -> Tuple[int, str]:
    key = _state(tree)
    if key not in _FRESH:
        _FRESH[key] = _computed(tree, "--no-cache")
    return _FRESH[key]


def _kept_says_what_a_fresh_run_says(tree: Path, edit: str) -> None:
    kept = _run(tree)
    assert kept.exception is None or isinstance(kept.exception, SystemExit), edit
    assert (kept.exit_code, kept.output) == _fresh(tree), edit


def _copy(source: Path, tree: Path) -> Path:
    shutil.copytree(
        source,
        tree,
        ignore=shutil.ignore_patterns("*.after*", "*.diag*", "__pycache__"),
    )
    (tree / "pyproject.toml").write_text("")
    return tree


def _codemod_row(tree: Path) -> Iterator[str]:
    """Edits the files of a codemod's golden cases in place, one step per yield."""
    sources = sorted(tree.rglob("*.py"))
    first, last = sources[0], sources[-1]
    assert first != last
    original, original_last = first.read_bytes(), last.read_bytes()
    first.write_bytes(original + b"\n# edited\n")
    yield f"{first.name}: a comment added"
    first.write_bytes(original + b"\n# edited\nEDITED = 1\n")
    yield f"{first.name}: a statement added"
    # another file while the first is still edited: the kept run holds some files' rewrites
    # (of the run before) and redoes others'
    last.write_bytes(original_last + b"\nEDITED = 1\n")
    yield f"{last.name}: a new last line (the edits add up)"
    first.write_bytes(original)
    last.write_bytes(original_last)
    yield f"{first.name}, {last.name}: taken back"


def _def_edits(text: str) -> List[Tuple[str, str]]:
    found = DEF.search(text)
    assert found is not None
    is_async, name = found.group(1), found.group(2)
    start = found.start()
    renamed = text[:start] + text[start:].replace(f"def {name}", f"def {name}_renamed", 1)
    if is_async:
        flipped = text[:start] + text[start + len("async ") :]
    else:
        flipped = text[:start] + "async " + text[start:]
    return [
        (f"{name} renamed", renamed),
        (f"{name} {'made sync' if is_async else 'made async'}", flipped),
        ("taken back", text),
    ]


def _multi_module_row(tree: Path, only: str = "") -> Iterator[str]:
    for source in sorted(tree.rglob(only or "*.py")):
        text = source.read_text()
        if DEF.search(text):
            for edit, edited in _def_edits(text):
                source.write_text(edited)
                yield f"{source.relative_to(tree)}: {edit}"


ROWS = [(name, GOLDEN / name, _codemod_row) for name in CODEMODS] + [
    (f"{p.parent.name}/{p.name}", p, _multi_module_row) for p in MULTI_MODULE
]


@pytest.mark.parametrize("name, source, row", ROWS, ids=[name for name, _, _ in ROWS])
def test_kept_results_after_edits_say_what_a_fresh_run_says(
    name: str, source: Path, row, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tree = _copy(source, tmp_path / "project")
    # the small projects' rows check that a run with an empty cache computes as --no-cache does
    _cold(tree, checked=row is _multi_module_row)
    edits = 0
    for edit in row(tree):
        _kept_says_what_a_fresh_run_says(tree, edit)
        edits += 1
    assert edits >= 3


def test_a_helper_made_async_gives_its_caller_an_await(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    tree = tmp_path / "project"
    tree.mkdir()
    (tree / "pyproject.toml").write_text("")
    (tree / "a.py").write_text("def helper():\n    return 1\n")
    (tree / "b.py").write_text("from a import helper\n\n\nasync def use():\n    return helper()\n")
    assert "b.py" not in _cold(tree, checked=True)[1]
    (tree / "a.py").write_text("async def helper():\n    return 1\n")
    made = _run(tree)
    assert "+    return await helper()" in made.output
    assert (made.exit_code, made.output) == _fresh(tree)
    for edit in _multi_module_row(tree, only="a.py"):
        _kept_says_what_a_fresh_run_says(tree, edit)
