"""The rewrite of one file, kept between runs: a run after an edit rewrites only the files whose
inputs changed.

What invalidates what (the cache directory is per asyncfix build and codemod selection,
cache.py, so a tool change invalidates everything first):

- A file's **first-pass facts** (cache.py) are a function of its bytes and path: an edited file
  is scanned again, no other file is.
- The **project index** is rebuilt from every file's facts on every run that is not reused
  whole (it is a function of all of them: a helper made async in ``a.py`` is an action in
  ``b.py``).
- A file's **rewrite** (engine.process_file) is a function of its bytes, its path as shown and
  real, the run's settings, and what the index says about it: its own await actions
  (``actions[path]``) and identifiers in coroutines (``async_names[path]``), plus what the index
  says about the whole program: every codemod's combined facts, the blocking plan, whether
  there are await actions at all, whether the first pass collected coroutine identifiers.
  This is the assumption the rounds of one run already make (engine._rounds re-rewrites a file
  when its actions moved, and every file when the combined facts moved). The key of a file's
  kept rewrite hashes all of these, so an edit in ``a.py`` that changes ``b.py``'s actions, or
  any combined fact, rewrites ``b.py`` again; a file whose key is the same gets the kept result.

A part of the index that cannot be written the same way in every process (an object whose
text is its memory address) makes every key differ: the memo then never hits, it is never
wrong. Two entries per file, written atomically like the first pass's: its rewrite in the
first round of a run, and in a later round (the round that confirms a rewrite, or that follows
what another file's rewrite changed); in each, the last key wins.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Optional

from . import cache
from .files import SourceFile, digest
from .results import FileResult, Settings

_MAGIC = b"asyncfix-rewrite-1\n"


def _hash(*parts: str) -> str:
    state = hashlib.sha256()
    for part in parts:
        state.update(part.encode("utf-8", "surrogatepass"))
        state.update(b"\0")
    return state.hexdigest()


class Keys:
    """The keys of the files' rewrites against one project index."""

    def __init__(self, project: Any, settings: Settings, known: Optional[str] = None) -> None:
        """``known``: :func:`whole` of this project and settings, if known (kept_index.py)."""
        self.project = project
        self.whole = known or whole(project, settings)

    def of(self, file: SourceFile, source: bytes) -> str:
        project = self.project
        names = project.async_names.get(file.path) if project.async_names is not None else None
        return _hash(
            self.whole,
            file.display,
            file.path,
            digest(source).hex(),
            cache.canonical(project.actions.get(file.path)),
            cache.canonical(names),
        )


def whole(project: Any, settings: Settings) -> str:
    """The part of every file's key that is about the whole program."""
    return _hash(
        cache.describe(settings),
        cache.canonical(project.root),
        cache.canonical(project.facts),
        cache.canonical(project.blocking),
        repr(bool(project.actions)),
        repr(project.async_names is None),
    )


def _entry(directory: str, path: str, first: bool) -> str:
    name = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()
    return os.path.join(directory, "rewrites", name if first else name + "-later")


def load(directory: str, path: str, key: str, first: bool) -> Optional[FileResult]:
    """The kept rewrite of ``path`` under ``key``, or None; ``first``: in the first round."""
    kept = cache.read_entry(_entry(directory, path, first), _MAGIC + key.encode())
    return kept if isinstance(kept, FileResult) else None


def store(directory: str, path: str, key: str, first: bool, result: FileResult) -> None:
    cache.write_entry(_entry(directory, path, first), _MAGIC + key.encode(), result)
