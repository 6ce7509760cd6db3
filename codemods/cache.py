"""The first pass's per-file results, kept between runs (``--no-cache`` turns it off).

A run parses every file with ``ast`` and walks it to collect the facts the project index is
built from; that is most of a run's time on a big tree where few files change. The result for
one file, ``(reason it cannot be processed, facts)``, is a pure function of:

- the file's bytes (compared by SHA-256 on every read: an entry for other bytes is a miss),
- its absolute path (facts name the file; module names come from it),
- the Python version (``ast`` differs between versions),
- the code of asyncfix itself (the digest of every module of the package, so an edited or
  upgraded asyncfix never reads an older tool's facts), and the selected codemods (a codemod's
  collector runs only when it is selected).

All of these are in the key or checked on read, so an entry is either right or not used. What
is *not* cached: anything that depends on other files (the project index, the actions, the
rewrite), which is recomputed from the facts on every run.

Where: ``$ASYNCFIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/asyncfix``, else ``~/.cache/asyncfix``;
one directory per tool digest, one entry per source file (overwritten when the file changes,
so the cache holds one entry per file ever scanned, per asyncfix build). Entries are written
atomically; an unreadable, truncated or foreign entry is a miss; a cache directory that cannot
be written is skipped silently (the run does not depend on it). Deleting the directory is
always safe.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

CACHE_ENV = "ASYNCFIX_CACHE_DIR"
_MAGIC = b"asyncfix-scan-2\n"


def default_directory() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncfix"


def tool_digest(codemods: Sequence[str]) -> str:
    """What, besides a file, its first-pass result depends on: this asyncfix's code, the
    Python version, the selected codemods."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    digest.update(repr((sys.implementation.name, sys.version_info[:2], tuple(codemods))).encode())
    for source in sorted([*package.glob("*.py"), *Path(__file__).resolve().parent.glob("*.py")]):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:32]


def directory_for(codemods: Sequence[str], base: Optional[Path] = None) -> str:
    return str((base or default_directory()) / tool_digest(codemods))


def _entry(directory: str, path: str) -> str:
    return os.path.join(directory, hashlib.sha256(os.path.abspath(path).encode()).hexdigest())


def load(directory: str, path: str, source: bytes) -> Optional[Any]:
    """The cached result for ``path`` holding exactly ``source``, or None."""
    try:
        with open(_entry(directory, path), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    header = len(_MAGIC) + 32
    if not data.startswith(_MAGIC) or data[len(_MAGIC) : header] != hashlib.sha256(source).digest():
        return None
    try:
        return pickle.loads(data[header:])
    except Exception:  # truncated or from an incompatible build: a miss
        return None


def store(directory: str, path: str, source: bytes, result: Any) -> None:
    """Keep ``result`` for ``path`` holding ``source``; never fails the run."""
    try:
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(source).digest() + payload)
            os.replace(temporary, _entry(directory, path))
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
