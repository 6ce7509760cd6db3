"""The one place a rewrite reaches the disk (issue 19: the engine owns writes).

:func:`write_result` writes a CHANGED :class:`~.engine.FileResult`'s bytes atomically, refusing to
write over a file that changed since it was read (``files.write_atomic`` compares digests), and
through ``--verify``'s hook when one is given (which remembers the original bytes first). A write
that fails turns the result into a FAILED one with the reason; the caller only renders it.
"""

from __future__ import annotations

from typing import Callable, Optional

from .files import FileChangedError, write_atomic

# (path, new bytes, digest of the bytes read): verify.Verifier.write, or write_atomic itself
WriteHook = Callable[[str, bytes, bytes], None]


def write_result(result, hook: Optional[WriteHook] = None) -> bool:
    """Write ``result.new`` over ``result.path``; True when written. On failure the result
    becomes FAILED with ``error = "cannot write: <reason>"`` and nothing else changes."""
    try:
        (hook or write_atomic)(result.path, result.new or b"", result.original_digest or b"")
    except (OSError, FileChangedError) as error:
        from .engine import FAILED

        reason = error.strerror if isinstance(error, OSError) else str(error)
        result.status = FAILED
        result.error = f"cannot write: {reason}"
        return False
    return True
