"""What the engine hands around: the settings of a run, the result for one file, the errors.

Kept free of libcst and of the codemods: the CLI renders these, and a run whose results come
from the cache (cache.py) needs nothing else.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

from . import imports
from .diagnostic import Diagnostic
from .files import SourceFile

UNCHANGED = "unchanged"
CHANGED = "changed"
FAILED = "failed"

# The reason of a file that is not analysed starts with this; scan.scan_file reports such a
# file as a notice (status unchanged), the CLI counts them in its summary line.
NOT_ANALYSED = "not analysed: "


def is_not_analysed(reason: Optional[str]) -> bool:
    return bool(reason) and reason.startswith(NOT_ANALYSED)


def default_jobs() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs besides the file; picklable."""

    codemods: Tuple[str, ...]
    black_mode: Optional[object] = None  # a black.Mode, or None for --no-format
    # The [tool.black] table black_mode is made from (None: --no-format): what the whole-run
    # cache key sees, so a run can be reused without importing black.
    black: Optional[Mapping[str, Any]] = None  # ({} for black's defaults)
    root: str = "."  # the project root (where pyproject.toml is)
    options: Mapping[str, Any] = field(default_factory=dict)  # [tool.asyncfix], snake_case
    scan_cache: Optional[str] = None  # directory of the first pass's cache (cache.py); None: off
    # Diagnostics name lines of the file as written (--apply, the default here) or, for a run
    # that writes nothing (--dry-run, --check), of the file as it stands.
    written: bool = True
    # The project's isort settings (imports.py): where new imports go.
    isort: imports.Style = field(default_factory=imports.Style)


@dataclass
class FileResult:
    display: str
    path: str
    status: str
    diff: str = ""
    old_text: Optional[str] = None  # for CHANGED: the decoded text before and after (renderers
    new_text: Optional[str] = None  # that need positions, e.g. SARIF fixes, compute from them)
    new: Optional[bytes] = None  # the rewritten bytes, for CHANGED
    original_digest: Optional[bytes] = None  # what was read, to refuse writing over a newer edit
    error: Optional[str] = None  # for FAILED
    notes: List[str] = field(default_factory=list)  # e.g. why formatting was skipped
    diagnostics: List[Diagnostic] = field(default_factory=list)
    rewrites: Dict[str, int] = field(default_factory=dict)
    # package (pip name) the rewritten code needs -> the codemods that need it (sorted)
    requirements: Dict[str, List[str]] = field(default_factory=dict)
    # Other files whose rewrite this one's is only correct with (groups.py): from the index's
    # plan (a def made async here, awaited there), the codemods' own (FileContext.needs: a file
    # or ``<name>`` of a shared object) and, once the run resolved them, the project modules
    # the rewrite imported from; ``imported`` is that record, (module, relative level).
    needs: FrozenSet[str] = frozenset()
    imported: Tuple[Tuple[str, int], ...] = ()
    # For a file written only together with others (groups.py): every member's path, sorted;
    # () for a file on its own.
    group: Tuple[str, ...] = ()
    # For a member of a group not written because another member failed: that member's display.
    culprit: Optional[str] = None


class SourceError(Exception):
    """The input cannot be processed: a syntax error, an unknown encoding, undecodable bytes."""


class InternalError(Exception):
    """asyncfix itself failed on this input: a codemod raised, or its output did not verify."""


@dataclass
class Outcome:
    new: bytes
    encoding: str
    diagnostics: List[Diagnostic]
    rewrites: Dict[str, int]
    notes: List[str]
    requirements: Dict[str, List[str]] = field(default_factory=dict)
    imported: Tuple[Tuple[str, int], ...] = ()  # (module, relative level) the codemods imported
    needs: FrozenSet[str] = frozenset()  # what else the rewrite goes with (FileContext.needs)


def unified_diff(old: str, new: str, display: str) -> str:
    """``--- a/path`` / ``+++ b/path`` diff; a last line without newline is marked as git does."""
    lines = []
    name = display.lstrip("/")

    def split(text: str) -> List[str]:  # at "\n" only, as git: not at form feeds (splitlines)
        parts = [part + "\n" for part in text.split("\n")]
        parts[-1] = parts[-1][:-1]
        return parts if parts[-1] else parts[:-1]

    for line in difflib.unified_diff(
        split(old),
        split(new),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    ):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


VANISHED = "the file vanished during the run"


def read_source(file: SourceFile) -> Union[bytes, FileResult]:
    try:
        with open(file.path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return FileResult(file.display, file.path, FAILED, error=VANISHED)
    except OSError as error:
        return FileResult(file.display, file.path, FAILED, error=f"cannot read: {error.strerror}")


Facts = Dict[str, Any]  # codemod NAME -> that codemod's collect() result for one file
# A file's program facts (callgraph.collect_module: imports, defs, calls), read by every codemod,
# travel under this key beside each codemod's own; no codemod is named so.
MODULE_FACTS = "<module facts>"
