"""The one place a rewrite reaches the disk (issue 19: the engine owns writes).

:func:`write_result` writes a CHANGED :class:`~.engine.FileResult`'s bytes atomically, refusing to
write over a file that changed since it was read (``files.write_atomic`` compares digests), and
through ``--verify``'s hook when one is given (which remembers the original bytes first). A write
that fails turns the result into a FAILED one with the reason; the caller only renders it.

:func:`write_group` writes the members of a group (groups.py: rewrites that are correct only
together) all or none: every member is checked first (still as read, a regular file), then
written one after the other; when a write fails, the members already written are put back byte
for byte (bytes, mode and times, atomically), and every member is FAILED, saying which member
failed and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from .files import FileChangedError, digest, write_atomic
from .results import FAILED

# (path, new bytes, digest of the bytes read): verify.Verifier.write, or write_atomic itself
WriteHook = Callable[[str, bytes, bytes], None]
# (path): the hook's record of a write that was undone (verify.Verifier.forget)
UndoHook = Callable[[str], None]


def _failed(result, reason: str) -> None:
    result.status = FAILED
    result.error = f"cannot write: {reason}"


def _reason(error: Exception) -> str:
    return (error.strerror or str(error)) if isinstance(error, OSError) else str(error)


def _write(result, hook: Optional[WriteHook]) -> Optional[str]:
    """Write ``result.new`` over ``result.path``; None when written, else why not."""
    try:
        (hook or write_atomic)(result.path, result.new or b"", result.original_digest or b"")
    except (OSError, FileChangedError) as error:
        return _reason(error)
    return None


def write_result(result, hook: Optional[WriteHook] = None) -> bool:
    """Write ``result.new`` over ``result.path``; True when written. On failure the result
    becomes FAILED with ``error = "cannot write: <reason>"`` and nothing else changes."""
    reason = _write(result, hook)
    if reason is not None:
        _failed(result, reason)
    return reason is None


@dataclass
class _Before:
    """What a member of a group was before it was written: enough to put it back."""

    data: bytes
    mode: int
    times: Tuple[int, int]  # (atime, mtime) in ns


def _before(result) -> _Before:
    """The file as it stands, checked to be what the rewrite read (else FileChangedError)."""
    with open(result.path, "rb") as handle:
        data = handle.read()
    if digest(data) != result.original_digest:
        raise FileChangedError("the file changed on disk during the run; not overwritten")
    info = os.stat(result.path)
    return _Before(data, info.st_mode & 0o7777, (info.st_atime_ns, info.st_mtime_ns))


def _put_back(result, before: _Before) -> Optional[str]:
    """Restore a written member; None when done, else why not."""
    try:
        write_atomic(result.path, before.data, digest(result.new or b""))
        os.chmod(result.path, before.mode)
        os.utime(result.path, ns=before.times)
    except (OSError, FileChangedError) as error:
        return _reason(error)
    return None


def write_group(
    results: Sequence, hook: Optional[WriteHook] = None, undo: Optional[UndoHook] = None
) -> bool:
    """Write every member of a group, or none of them; True when all were written. ``undo``
    is told of each member put back after ``hook`` wrote it (``--verify`` forgets it)."""
    if len(results) == 1:
        return write_result(results[0], hook)
    befores: List[_Before] = []
    for result in results:  # nothing is written while a member is known to fail
        try:
            befores.append(_before(result))
        except (OSError, FileChangedError) as error:
            _fail_group(results, result, _reason(error), [])
            return False
    written: List[Tuple[object, _Before]] = []
    for result, before in zip(results, befores):
        reason = _write(result, hook)
        if reason is not None:
            _fail_group(results, result, reason, written, undo)
            return False
        written.append((result, before))
    return True


def _fail_group(
    results: Sequence,
    culprit,
    reason: str,
    written: List[Tuple[object, _Before]],
    undo: Optional[UndoHook] = None,
) -> None:
    """Every member FAILED: the culprit with its reason, the others saying it; the members
    already written put back first (newest first)."""
    not_restored = {}
    for result, before in reversed(written):
        problem = _put_back(result, before)
        if problem is None:
            if undo is not None:
                undo(result.path)
        else:
            not_restored[result.path] = problem
    for result in results:
        if result is culprit:
            _failed(result, reason)
            continue
        result.culprit = culprit.display
        text = f"goes with {culprit.display}, which failed ({reason})"
        if result.path in not_restored:
            text += (
                f"; written, and could not be put back ({not_restored[result.path]}): "
                "it holds asyncfix's rewrite"
            )
        elif any(result is done for done, _ in written):
            text += "; put back as it was"
        _failed(result, text)
