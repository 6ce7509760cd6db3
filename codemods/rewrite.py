"""The rewrite of one file: read bytes; skip the file unless some selected codemod's cheap byte
check wants it; parse once with libcst (which keeps encoding, BOM, newline style and trailing
newline); run the selected codemods in registry order on that one tree; format the changed
lines; verify; emit bytes.

Verification before anything is written: the new source must compile wherever the old one did,
and a second run of the same codemods on it must change nothing (the rounds of engine.py). A
file failing either check is reported as an internal error and left alone.
"""

from __future__ import annotations

import io
import os
import sys
import tokenize
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import imports
from .files import SourceFile, digest
from .first_pass import FileContext, parse_ignore_comments
from .gates import GATE_BY_NAME
from .groups import ties_of_failed
from .program_facts import ProjectIndex
from .reduce import _reduce
from .results import (
    CHANGED,
    FAILED,
    UNCHANGED,
    FileResult,
    InternalError,
    Outcome,
    Settings,
    SourceError,
    read_source,
    unified_diff,
)

# Files that reached libcst and came out as they went in, with no diagnostic from it: (file,
# the codemods that wanted it), in this process (the workers' are their own; with
# ASYNCFIX_PHASES=1 each is also written to stderr). A gate that wants such a file decides
# less than its transform: tests/test_gates_exact.py keeps known families at none.
IDLE: List[Tuple[str, Tuple[str, ...]]] = []


def _idle(filename: str, wanted: List[type]) -> None:
    names = tuple(codemod.NAME for codemod in wanted)
    IDLE.append((filename, names))
    if os.environ.get("ASYNCFIX_PHASES"):
        print(f"asyncfix: libcst, no change: {filename} ({', '.join(names)})", file=sys.stderr)


def _encoding(source: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError as error:  # an unknown coding cookie
        raise SourceError(f"cannot decode the file: {error}") from None


@dataclass
class Rewritten:
    """What :func:`_rewrite` made of one file's bytes."""

    text: str  # the original text, decoded ("" when no codemod wants the file)
    new_text: Optional[str]  # None when nothing changed or no codemod wants the file
    encoding: str
    file: FileContext  # the diagnostics, rewrite counts and requirements
    notes: List[str] = field(default_factory=list)  # e.g. why formatting was skipped


def _rewrite(
    source: bytes,
    path: str,
    settings: Settings,
    project: ProjectIndex,
    filename: str,
    black_mode: Optional[object],
    reduce: bool = True,
) -> Rewritten:
    """Run the wanted codemods (and black on the changed lines) on one file's bytes."""
    selected = [GATE_BY_NAME[name] for name in settings.codemods]
    wanted = [codemod for codemod in selected if codemod.wants(source, filename, project)]
    file = FileContext(
        path=path, filename=filename, source="", project=project, options=settings.options
    )
    reporters = [
        codemod
        for codemod in selected
        if codemod not in wanted and codemod.reports_unparsed(filename, project)
    ]
    if not wanted and not reporters:
        return Rewritten("", None, "utf-8", file)
    encoding = _encoding(source)
    try:
        text = source.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(f"cannot decode the file: {error}") from None
    if reporters:
        file.ignores = parse_ignore_comments(text)
        for codemod in reporters:
            codemod.report_unparsed(file)
    if not wanted:
        return Rewritten(text, None, encoding, file)
    reduction = _reduce(text, wanted, project, filename) if reduce else None
    work = reduction.text if reduction is not None else text
    from . import transform  # libcst and the codemods: only for a file a codemod wants

    module = transform.parse(work.encode(encoding) if reduction is not None else source)
    file.source = work
    file.ignores = parse_ignore_comments(work)
    reported = len(file.diagnostics)
    names = [codemod.NAME for codemod in wanted]
    formats = black_mode is not None or settings.black is not None
    mode = _BlackMode(settings, black_mode)
    new_work = transform.apply(module, names, file, mode if formats else None)
    if new_work == work:
        if len(file.diagnostics) == reported:
            _idle(filename, wanted)
        return Rewritten(text, None, encoding, file)
    new_work = imports.place(work, new_work, filename, settings.root, settings.isort)
    notes: List[str] = []
    if formats:
        from .formatting import format_changed  # black: only for a changed file

        if mode() is None:
            notes.append(mode.error)
        else:
            new_work, note = format_changed(work, new_work, mode())
            if note:
                notes.append(note)
    if reduction is None:
        return Rewritten(text, new_work, encoding, file, notes)
    new_text = reduction.splice(new_work)
    if new_text is None:  # a change reached a stub: do it the slow way
        return _rewrite(source, path, settings, project, filename, black_mode, reduce=False)
    return Rewritten(text, new_text, encoding, file, notes)


class _BlackMode:
    """The run's black mode, made on first call (black loads only for a file that changed):
    the CLI's, else one from the ``[tool.black]`` table; None, with ``error`` saying why, for a
    table black does not take (the CLI checked it)."""

    def __init__(self, settings: Settings, black_mode: Optional[object]) -> None:
        self.settings, self.mode, self.error = settings, black_mode, ""

    def __call__(self) -> Optional[object]:
        if self.mode is None and not self.error:
            from .formatting import mode_for

            try:
                self.mode = mode_for(self.settings.black or {})
            except (KeyError, ValueError, TypeError) as error:
                self.error = f"not formatted: [tool.black]: {error!r}"
        return self.mode


def _compiles(source: bytes, path: str) -> Optional[str]:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return str(error)
    return None


def transform_source(
    source: bytes,
    path: str,
    settings: Settings,
    project: ProjectIndex,
    filename: Optional[str] = None,
) -> Outcome:
    """Rewrite one file's bytes. ``path`` is how the user sees the file (diagnostics, diffs),
    ``filename`` the real file (module names; defaults to ``path``). Raises SourceError for
    bad input, InternalError for our bugs."""
    filename = filename or path
    rewritten = _rewrite(source, path, settings, project, filename, settings.black_mode)
    file, encoding, notes = rewritten.file, rewritten.encoding, rewritten.notes
    if rewritten.new_text is None:
        return Outcome(source, encoding, file.diagnostics, dict(file.rewrites), [])
    new = rewritten.new_text.encode(encoding)
    problem = _compiles(new, path)
    if problem is not None and _compiles(source, path) is None:
        raise InternalError(f"the rewritten code does not compile ({problem}); file left as is")
    # No second run here: the callers run the whole pipeline again on the new text, with the
    # facts and actions of the new text, until nothing changes (run, transform_standalone).
    requirements = {package: sorted(names) for package, names in sorted(file.requirements.items())}
    return Outcome(
        new,
        encoding,
        file.diagnostics,
        dict(file.rewrites),
        notes,
        requirements,
        tuple(sorted(file.imported)),
        frozenset(file.needs),
    )


# One run is a fixed point: whatever a round creates (functions made async, new awaits) is seen
# by every codemod in the next round, until a round changes nothing. Two rounds are the rule
# (the second confirms); a file still changing after this many is left alone, as a bug.
MAX_ROUNDS = 5
NOT_A_FIXED_POINT = (
    f"the rewrite did not settle after {MAX_ROUNDS} rounds (a further run would change it "
    "again); file left as is"
)


def process_file(
    file: SourceFile, settings: Settings, project: ProjectIndex, source: Optional[bytes] = None
) -> FileResult:
    """Rewrite one file: its bytes on disk, or ``source``, the text an earlier round made."""
    if source is None:
        source = read_source(file)
        if isinstance(source, FileResult):
            return source
    result = FileResult(file.display, file.path, UNCHANGED)
    actions = project.actions.get(file.path)
    # The plan ties this file to others whatever its rewrite does: one that fails takes them
    # with it (groups.py).
    result.needs = actions.linked if actions is not None else frozenset()
    try:
        outcome = transform_source(source, file.display, settings, project, file.path)
    except (SourceError, InternalError) as error:
        kind = "internal error: " if isinstance(error, InternalError) else ""
        result.status, result.error = FAILED, f"{kind}{error}"
        result.needs = result.needs | ties_of_failed(file.path, project)
        return result
    except RecursionError:
        result.status, result.error = FAILED, "the file is nested too deeply to parse"
        result.needs = result.needs | ties_of_failed(file.path, project)
        return result
    result.diagnostics, result.rewrites, result.notes = (
        outcome.diagnostics,
        outcome.rewrites,
        outcome.notes,
    )
    if outcome.new != source:
        result.status = CHANGED
        result.requirements = outcome.requirements
        result.imported = outcome.imported
        result.needs = result.needs | outcome.needs
        result.new = outcome.new
        result.original_digest = digest(source)
        result.old_text = source.decode(outcome.encoding)
        result.new_text = outcome.new.decode(outcome.encoding)
        result.diff = unified_diff(result.old_text, result.new_text, file.display)
    return result
