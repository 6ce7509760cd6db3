"""Finding the files of a run and writing them back without ever losing data."""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import hashlib
import os
import re
import signal
import stat
import tempfile
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Sequence, Set, Tuple

# Directories never walked into (a path named on the command line is always processed).
DEFAULT_EXCLUDES: Tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)

TEMP_PREFIX = ".asyncfix-"
TEMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class SourceFile:
    display: str  # the path as the user sees it (relative to where they ran asyncfix)
    path: str  # the real file: writes go through symlinks to it, not over them


class FileChangedError(Exception):
    """The file changed on disk between reading and writing: we refuse to overwrite it."""


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _excluded(name: str, relative: str, patterns: Sequence[str]) -> bool:
    matcher = _matcher(tuple(patterns))
    return bool(matcher.match(name) or matcher.match(relative))


@functools.lru_cache(maxsize=8)
def _matcher(patterns: Tuple[str, ...]) -> "re.Pattern[str]":
    """One regex for every glob (fnmatchcase's own translation): a walk tests each name once,
    not once per pattern."""
    return re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns) or "(?!)")


def discover(
    paths: Iterable[str], excludes: Sequence[str]
) -> Tuple[List[SourceFile], List[Tuple[str, str]]]:
    """Expand files and directories into Python files, sorted, each real file once.

    Directories are walked without following symlinks (so a symlink loop cannot hang the walk)
    and symlinked files found in a walk are skipped (their target is processed where it lives);
    virtualenvs (a ``pyvenv.cfg``) and the ``excludes`` globs, matched against a name or a path
    relative to the walked directory, are pruned. Returns the files and (path, error) pairs.
    """
    files: List[SourceFile] = []
    errors: List[Tuple[str, str]] = []
    seen: Set[str] = set()

    def add(display: str, path: str, real: str = "") -> None:
        real = real or os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(SourceFile(display, real))

    for given in paths:
        if os.path.isfile(given):
            add(given, given)
            continue
        if not os.path.isdir(given):
            exists = os.path.exists(given)  # a FIFO, socket or device: reading it could block
            errors.append((given, "not a regular file" if exists else "no such file or directory"))
            continue
        found: List[Tuple[str, str, str]] = []
        for directory, dirnames, filenames in os.walk(given, onerror=None):
            relative_dir = os.path.relpath(directory, given)
            # No symlink is followed below `given`: a file's real path is its directory's.
            real_dir = os.path.realpath(directory)
            kept = []
            for name in dirnames:
                full = os.path.join(directory, name)
                relative = os.path.normpath(os.path.join(relative_dir, name)).replace(os.sep, "/")
                if os.path.islink(full) or _excluded(name, relative, excludes):
                    continue
                if os.path.exists(os.path.join(full, "pyvenv.cfg")):
                    continue
                kept.append(name)
            dirnames[:] = sorted(kept)
            for name in filenames:
                if not name.endswith(".py"):
                    continue
                full = os.path.join(directory, name)
                relative = os.path.normpath(os.path.join(relative_dir, name)).replace(os.sep, "/")
                try:
                    mode = os.lstat(full).st_mode
                except OSError:
                    mode = 0
                if stat.S_ISLNK(mode) or _excluded(name, relative, excludes):
                    continue
                if not stat.S_ISREG(mode):  # a FIFO named *.py would block the read forever
                    errors.append((os.path.normpath(full), "not a regular file"))
                    continue
                found.append((relative, full, os.path.join(real_dir, name)))
        for _, full, real in sorted(found):
            add(os.path.normpath(full), full, real)
    return files, errors


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM (where the platform can) until the block is done."""
    held = {signal.SIGINT, signal.SIGTERM}
    if (
        not hasattr(signal, "pthread_sigmask")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_atomic(path: str, data: bytes, expected_digest: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, keeping its permission bits.

    The bytes are written to a temporary file in the same directory, flushed to disk, given the
    original mode and then renamed over the original, so an interrupted run leaves either the old
    or the new file, never a mix. If the file no longer holds what was read, nothing is written
    (:class:`FileChangedError`): the user's newer edit wins.
    """
    with open(path, "rb") as handle:
        current = handle.read()
    if digest(current) != expected_digest:
        raise FileChangedError("the file changed on disk during the run; not overwritten")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    directory = os.path.dirname(path) or "."
    # Ctrl-C / kill wait until the file is replaced or the temporary file removed (an fsync's
    # time): a signal between mkstemp and the cleanup would leave the temporary file behind.
    with _signals_deferred():
        fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
