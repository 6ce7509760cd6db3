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
from typing import Any, Dict, Optional, Sequence, Tuple

from . import cache, reads
from .files import SourceFile, digest
from .results import FileResult, Settings

_MAGIC = b"asyncfix-rewrite-2\n"


def _hash(*parts: str) -> str:
    state = hashlib.sha256()
    for part in parts:
        state.update(part.encode("utf-8", "surrogatepass"))
        state.update(b"\0")
    return state.hexdigest()


class Keys:
    """The keys of the files' rewrites against one project index: a file's own key (its
    bytes, path, the settings), and what its last rewrite read of the index (reads.py),
    compared with what the same reads see in this index."""

    def __init__(
        self, project: Any, settings: Settings, seen: Optional[Dict[reads.Read, str]] = None
    ) -> None:
        """``seen``: what reads see in this index, as far as known (filled as they are made)."""
        self.project = project
        self.base = _hash(cache.describe(settings), cache.canonical(project.root))
        self.seen: Dict[reads.Read, str] = {} if seen is None else seen

    def of(self, file: SourceFile, source: bytes) -> str:
        return _hash(self.base, file.display, file.path, digest(source).hex())

    def values(self, taken: Sequence[reads.Read]) -> Tuple[Tuple[reads.Read, str], ...]:
        """``taken``, each with what it sees in this index."""
        return tuple((read, reads.value_of(read, self.project, self.seen)) for read in taken)

    def holds(self, kept: Sequence[Tuple[reads.Read, str]]) -> bool:
        return all(reads.value_of(read, self.project, self.seen) == seen for read, seen in kept)


def _entry(directory: str, path: str, first: bool) -> str:
    name = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()
    return os.path.join(directory, "rewrites", name if first else name + "-later")


def load(directory: str, path: str, key: str, first: bool, keys: Keys) -> Optional[FileResult]:
    """The kept rewrite of ``path`` under ``key`` when what it read of the index is as in
    ``keys``' index, or None; ``first``: in the first round."""
    kept = cache.read_entry(_entry(directory, path, first), _MAGIC + key.encode())
    if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], FileResult)):
        return None
    return kept[1] if keys.holds(kept[0]) else None


def store(
    directory: str,
    path: str,
    key: str,
    first: bool,
    result: FileResult,
    seen: Tuple[Tuple[reads.Read, str], ...],
) -> None:
    """Keep ``result``, the rewrite of ``path`` under ``key`` that read ``seen`` of the index."""
    cache.write_entry(_entry(directory, path, first), _MAGIC + key.encode(), (seen, result))
