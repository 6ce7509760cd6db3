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

All of these are in the key or checked on read, so an entry is either right or not used. A file
the prefilter (prefilter.py) did not collect is kept as ``(reason, None, identifiers)``: parsed
(its syntax error, if any, is known) but its facts not collected; a later run that wants them
collects them and overwrites the entry.

The whole run's results (:func:`run_key`, :func:`load_run`, :func:`store_run`): what depends on
more than one file (the project index, the await actions, the blocking plan, every rewrite and
diagnostic) is a function of every file of the run, so it is kept under one key that hashes,
besides the tool digest, the settings of the run (codemods, options, root, the [tool.black]
table and which black is installed, import style, whether the run writes) and, for every file,
its path as shown, its real path and its bytes, and which of the directories holding the files
(and their parents) are packages (an ``__init__.py`` changes module names, so resolution). A
re-run with nothing changed loads the results and does no other work: the CLI checks this key
before it imports the engine, libcst, black or any codemod (tests/test_cache.py checks with
``python -X importtime``). Any edited, added, removed or renamed file, or another setting, is
another key, and that run recomputes the index from the per-file facts (its unchanged files are
not parsed again) and rewrites the files whose inputs changed (memo.py). What the key does not see: a file that is not part of
the run and not an ``__init__.py`` (a module outside the paths given that an import would
resolve to is not part of the project index either, so it cannot change the result).

Where: ``$ASYNCFIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/asyncfix``, else ``~/.cache/asyncfix``;
one directory per tool digest, one entry per source file (overwritten when the file changes,
so the cache holds one entry per file ever scanned, per asyncfix build). Entries are written
atomically; an unreadable, truncated or foreign entry is a miss; a cache directory that cannot
be written is skipped silently (the run does not depend on it). Deleting the directory is
always safe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from .files import SourceFile, digest
from .results import FileResult, Settings, read_source

CACHE_ENV = "ASYNCFIX_CACHE_DIR"
_MAGIC = b"asyncfix-scan-3\n"
_RUN_MAGIC = b"asyncfix-run-1\n"


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


def run_key(settings_repr: str, files: Sequence[Tuple[str, str, bytes]]) -> str:
    """The key of a whole run: ``files`` are (path as shown, real path, SHA-256 of the bytes)."""
    digest = hashlib.sha256(settings_repr.encode())
    for display, path, content in files:
        digest.update(b"\0".join((display.encode(), path.encode(), content)))
    digest.update(package_markers([path for _, path, _ in files]).encode())
    return digest.hexdigest()


def package_markers(paths: Sequence[str]) -> str:
    """Which of the directories holding ``paths`` (and their parents) are packages (hold an
    ``__init__.py``: module names, so resolution, depend on it), as a digest."""
    digest = hashlib.sha256()
    directories = set()
    for path in paths:
        directory = os.path.dirname(path)
        while directory not in directories:
            directories.add(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    for directory in sorted(directories):
        if os.path.isfile(os.path.join(directory, "__init__.py")):
            digest.update(b"\1" + directory.encode())
    return digest.hexdigest()


def load_run(directory: str, key: str) -> Optional[Any]:
    """The results of the run ``key`` (see :func:`run_key`), or None."""
    try:
        with open(os.path.join(directory, "runs", key), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if not data.startswith(_RUN_MAGIC):
        return None
    try:
        return pickle.loads(data[len(_RUN_MAGIC) :])
    except Exception:
        return None


def store_run(directory: str, key: str, results: Any) -> None:
    """Keep the results of run ``key``; the one entry of the runs directory (a new run
    replaces it: a re-run is of the last state, and old entries would only grow)."""
    runs = os.path.join(directory, "runs")
    try:
        payload = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        os.makedirs(runs, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=runs, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_RUN_MAGIC + payload)
            os.replace(temporary, os.path.join(runs, key))
        except BaseException:
            os.unlink(temporary)
            raise
        for name in os.listdir(runs):
            if name != key and not name.startswith(".tmp-"):
                try:
                    os.unlink(os.path.join(runs, name))
                except OSError:
                    pass
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


def read_entry(path: str, header: bytes) -> Optional[Any]:
    """What :func:`write_entry` kept at ``path`` under ``header``, or None (a miss)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if not data.startswith(header + b"\n"):
        return None
    try:
        return pickle.loads(data[len(header) + 1 :])
    except Exception:  # truncated or from an incompatible build: a miss
        return None


def write_entry(path: str, header: bytes, value: Any) -> None:
    """Keep ``value`` at ``path`` under ``header`` (atomically); never fails the run."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(header + b"\n" + payload)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


def _entry(directory: str, path: str) -> str:
    return os.path.join(directory, hashlib.sha256(os.path.abspath(path).encode()).hexdigest())


def load(directory: str, path: str, source: bytes) -> Optional[Any]:
    """The cached result for ``path`` holding exactly ``source``, or None."""
    return load_any(directory, path, hashlib.sha256(source).digest())


def load_any(directory: str, path: str, sha256: bytes) -> Optional[Any]:
    """The cached result for ``path`` when it was computed from bytes of this SHA-256 (the
    entry is the last scan of ``path``, whatever its bytes now), or None."""
    try:
        with open(_entry(directory, path), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    header = len(_MAGIC) + 32
    if not data.startswith(_MAGIC) or data[len(_MAGIC) : header] != sha256:
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


def canonical(value: Any) -> Any:
    """``value`` as text that is the same in every process (sets sorted, dataclasses and
    mappings by field): part of the key of a whole run."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return f"{type(value).__name__}({canonical(fields)})"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(sorted(f"{canonical(k)}: {canonical(v)}" for k, v in value.items()))
            + "}"
        )
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(canonical(v) for v in value) + "]"
    return repr(value)


def key_of_run(files: Sequence[SourceFile], settings: Settings) -> Optional[str]:
    """The key of this run's results in the cache (cache.run_key); None when a file cannot be
    read (the run reports it, and is not kept)."""
    contents = []
    for file in files:
        source = read_source(file)
        if isinstance(source, FileResult):
            return None
        contents.append((file.display, file.path, digest(source)))
    return run_key(describe(settings), contents)


def describe(settings: Settings) -> str:
    """What of ``settings`` a run's results depend on, as text. black_mode is made from
    settings.black (this sees that, and black's build), so the text is the same before the CLI
    makes it, which it does only when the run is not reused."""
    described = canonical(
        dataclasses.replace(
            settings, black_mode=None, scan_cache=None, root=os.path.abspath(settings.root)
        )
    )
    if settings.black is not None:
        described += _black_build()
    return described


def _black_build() -> str:
    """Which black formats (its version decides the output): its files' place, size and
    time, found without importing it."""
    spec = importlib.util.find_spec("black")
    if spec is None or not spec.origin:
        return "black: none"
    found = os.stat(spec.origin)
    return f"black: {spec.origin} {found.st_size} {found.st_mtime_ns}"


def reused(
    files: Sequence[SourceFile], settings: Settings, key: Optional[str] = None
) -> Optional[List[FileResult]]:
    """The results of the last run, when it was this run (``key``, :func:`key_of_run`, computed
    when not given); None otherwise, or without a cache."""
    if not settings.scan_cache:
        return None
    key = key or key_of_run(files, settings)
    kept = load_run(settings.scan_cache, key) if key is not None else None
    if isinstance(kept, list) and len(kept) == len(files):
        return kept
    return None
