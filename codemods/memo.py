"""The rewrite of one file, kept between runs: a run after an edit rewrites only the files whose
inputs changed.

What invalidates what (the cache directory is per asyncfix build and codemod selection,
cache.py, so a tool change invalidates everything first):

- A file's **first-pass facts** (cache.py) are a function of its bytes and path: an edited file
  is scanned again, no other file is.
- The **project index** is a function of every file's facts (a helper made async in ``a.py``
  is an action in ``b.py``): it is kept (kept_index.py) and reused while every file's facts are
  those it was built from (an edit that changes no fact), built again from all of them
  otherwise (not per analysis: kept_index.py says what that costs, what was done and what
  it would take).
- A file's **rewrite** (engine.process_file) is a function of its bytes, its path as shown and
  real, the run's settings (root and options included), and what it reads of the index. The
  rewrite runs against a view of the index that records those reads (reads.py: a codemod's
  combined facts field by field, a path's await actions and coroutine identifiers, whether
  there are any actions, the blocking plan; any other use of a value reads it whole). The
  kept rewrite is stored under the key of the file's own inputs, with each read and the digest
  of what it saw; a later run uses it when the key is the same and every read sees the same in
  its index. So an edit in ``a.py`` that gives ``b.py`` an await action, or moves a combined
  fact that ``b.py``'s rewrite looked at, rewrites ``b.py`` again; a function added that no
  other file's rewrite looked at rewrites the edited file alone.

This is the assumption the rounds of one run already make, made finer: engine._rounds
re-rewrites a file when its actions moved, and every file when the combined facts moved (most
then come back from here). A read the view cannot see would make a kept rewrite wrong: the
view covers every attribute of the index that differs between runs on one tree (reads.py says
how), and nothing in this package keeps what it read of an index elsewhere. A value whose text
(cache.canonical) is not the same in every process (an object shown by its address) makes its
reads never match: the memo then never hits for the files that read it, it is never wrong.
One entry per file and round number, written atomically like the first pass's: round 1 rewrites
the file as on disk against the first index, round ``n`` the text rounds 1..n-1 made of it
against the index of round ``n`` (kept_index.FirstPass.later keeps those indexes). A run of
three rounds keeps round 2's and round 3's rewrites apart: with one entry for every later round,
round 3's overwrote round 2's, and the next run, after an edit anywhere, rewrote every file of
round 2 again (10,159 file rewrites on a 5,098-file tree). In each entry the last key wins.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, Optional, Sequence, Tuple

from . import cache, reads
from .files import SourceFile, digest
from .results import FileResult, Settings

_MAGIC = b"asyncfix-rewrite-3\n"


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

    def of(self, file: SourceFile, source: bytes, sha: Optional[bytes] = None) -> str:
        """``sha``: the SHA-256 of ``source``, if known."""
        return _hash(self.base, file.display, file.path, (sha or digest(source)).hex())

    def values(self, taken: Sequence[reads.Read]) -> Tuple[Tuple[reads.Read, str], ...]:
        """``taken``, each with what it sees in this index."""
        return tuple((read, reads.value_of(read, self.project, self.seen)) for read in taken)

    def holds(self, kept: Sequence[Tuple[reads.Read, str]]) -> bool:
        return all(reads.value_of(read, self.project, self.seen) == seen for read, seen in kept)


def _entry(directory: str, path: str, round_number: int) -> str:
    name = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()
    return os.path.join(
        directory, "rewrites", name if round_number == 1 else f"{name}-{round_number}"
    )


def load(
    directory: str, path: str, key: str, round_number: int, keys: Keys
) -> Optional[FileResult]:
    """The kept rewrite of ``path`` in round ``round_number`` (1: the first) under ``key``
    when what it read of the index is as in ``keys``' index, or None."""
    kept = cache.read_entry(_entry(directory, path, round_number), _MAGIC + key.encode())
    if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], FileResult)):
        return None
    return kept[1] if keys.holds(kept[0]) else None


def store(
    directory: str,
    path: str,
    key: str,
    round_number: int,
    result: FileResult,
    seen: Tuple[Tuple[reads.Read, str], ...],
) -> None:
    """Keep ``result``, the rewrite of ``path`` in round ``round_number`` under ``key`` that
    read ``seen`` of the index."""
    cache.write_entry(_entry(directory, path, round_number), _MAGIC + key.encode(), (seen, result))
