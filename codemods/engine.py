"""The rewrite engine: one file in, bytes and a result out; many files in parallel processes.

Two passes over the files of a run, both in worker processes:

1. The scan: read every file and ``ast``-parse it (fast, C). A syntax error is reported here,
   with Python's own message, for every file, whether or not a codemod would touch it. Syntax
   newer than the running interpreter falls back to libcst, which parses more grammar versions.
   The per-file facts gathered here build the :class:`ProjectIndex`; they are collected only
   from the files that can matter (prefilter.py: seeds, then a fixed point on identifiers).
2. The rewrite, per file: read bytes; skip the file unless some selected codemod's cheap byte check wants it;
parse once with libcst (which keeps encoding, BOM, newline style and trailing newline); run the
selected codemods in registry order on that one tree; format the changed lines; verify; emit
bytes. The CLI only renders the :class:`FileResult` values this module produces, and hands
those to be written to :func:`write_result` (``writer.py``).

With the cache on (cache.py), a file's first-pass result is reused while its bytes are the
same, and a run whose files, package markers and settings are all as in the last run reuses
that run's results whole.

Verification before anything is written: the new source must compile wherever the old one did,
and a second run of the same codemods on it must change nothing. A file failing either check is
reported as an internal error and left alone.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import gc
import io
import os
import re
import sys
import time
import tokenize
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import (
    Any,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

import libcst as cst
from libcst.codemod import CodemodContext

from . import BY_NAME, cache, imports, prefilter, resolve, rounds, syntax
from .astwalk import walk
from .base import Diagnostic, FileContext, ParenthesizeAwaits, parse_ignore_comments
from .callgraph import collect_module
from .files import SourceFile, digest
from .program_facts import ProjectIndex
from .propagate import combine_all
from .writer import write_result  # noqa: F401 - the engine owns writes: writer.py

UNCHANGED = "unchanged"
CHANGED = "changed"
FAILED = "failed"


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs besides the file; picklable."""

    codemods: Tuple[str, ...]
    black_mode: Optional[object] = None  # a black.Mode, or None for --no-format
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


def _ast_parse(source: bytes) -> Tuple[Optional[ast.Module], Optional[str]]:
    """The ``ast`` of ``source``, or Python's own description of why it does not parse."""
    try:
        return ast.parse(source), None
    except SyntaxError as error:
        where = f"line {error.lineno}, column {error.offset}" if error.lineno else "the file"
        return None, f"syntax error at {where}: {error.msg}"
    except (ValueError, UnicodeDecodeError) as error:  # NUL bytes, undecodable bytes
        return None, f"cannot decode the file: {error}"


def _python_syntax_error(source: bytes) -> Optional[str]:
    return _ast_parse(source)[1]


def _parse(source: bytes) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        reason = _python_syntax_error(source)
        if reason is None:
            reason = f"syntax error at line {error.raw_line}, column {error.raw_column + 1}"
        raise SourceError(reason) from None
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        raise SourceError(f"cannot decode the file: {error}") from None


# From this many lines on, a file whose codemods are all LOCAL is given to libcst reduced to the
# top-level statements that can change (see _Reduction): libcst's parse and metadata cost about
# a millisecond per line here, which the rest of a big file need not pay.
BIG_FILE_LINES = 2000


def _encoding(source: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError as error:  # an unknown coding cookie
        raise SourceError(f"cannot decode the file: {error}") from None


def blank(line: str) -> bool:
    """difflib junk: blank lines repeat thousands of times in a big file, which makes
    SequenceMatcher quadratic; as junk they still join matches but never start one."""
    return not line.strip()


class _Reduction:
    """A big file with every top-level ``def``/``class`` that cannot change taken out of
    libcst's sight without moving a line: a run of such statements becomes one multi-line string
    statement (one node, whatever its length) holding a unique marker per line, and a dropped
    def that the rest of the file names keeps a one-line stub (``def name(): ...``) so the name
    stays bound. Every line keeps its number and every kept statement its columns, so the first
    pass's positions, the opt-out comments and the diagnostics stay right. After the codemods,
    the changes are spliced back into the original text; a change that touches a stubbed line
    makes :meth:`splice` give up (the engine then parses the whole file)."""

    def __init__(self, text: str, tree: ast.Module, keep) -> None:
        self.lines = text.split("\n")
        self.stubbed: Set[int] = set()  # 0-based indexes of lines that are not the original
        spans = []  # (first, last, statement) of every def/class libcst need not see
        for statement in tree.body:
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = min([statement.lineno, *(d.lineno for d in statement.decorator_list)]) - 1
            last = (statement.end_lineno or statement.lineno) - 1
            spans.append((first, last, statement, keep(first + 1, last + 1)))
        dropped_lines = {
            i for first, last, _, kept in spans if not kept for i in range(first, last + 1)
        }
        # A dropped def keeps its name bound (a stub) only if the code libcst sees names it.
        seen = set(
            re.findall(
                r"\w+",
                "\n".join(
                    line for index, line in enumerate(self.lines) if index not in dropped_lines
                ),
            )
        )
        reduced = list(self.lines)
        run: List[int] = []  # first and last line of the string statement being built

        def close_run() -> None:
            if run:
                self._string(reduced, run[0], run[1])
                run.clear()

        previous_dropped = False
        for first, last, statement, kept in spans:
            if kept:
                close_run()
                previous_dropped = False
                continue
            if statement.name in seen:
                close_run()
                kind = "class" if isinstance(statement, ast.ClassDef) else "def"
                stub = (
                    f"class {statement.name}: ..."
                    if kind == "class"
                    else f"def {statement.name}(): ..."
                )
                ending = "\r" if self.lines[first].endswith("\r") else ""
                reduced[first] = stub + ending
                self.stubbed.add(first)
                if last > first:
                    self._string(reduced, first + 1, last)
                previous_dropped = False
                continue
            if run and previous_dropped:
                run[1] = last  # the lines between two dropped statements go in the string too
            else:
                close_run()
                run.extend((first, last))
            previous_dropped = True
        close_run()
        self.text = "\n".join(reduced)

    def _string(self, reduced: List[str], first: int, last: int) -> None:
        for index in range(first, last + 1):
            ending = "\r" if self.lines[index].endswith("\r") else ""
            marker = f"#{index + 1}"
            if index == first:
                marker = '"""' + marker
            if index == last:
                marker += '"""'
            reduced[index] = marker + ending
            self.stubbed.add(index)

    def splice(self, new_reduced: str) -> Optional[str]:
        old = self.text.split("\n")
        new = new_reduced.split("\n")
        out: List[str] = []
        matcher = difflib.SequenceMatcher(blank, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.extend(self.lines[i1:i2])
            elif any(index in self.stubbed for index in range(i1, i2)):
                return None
            else:
                out.extend(new[j1:j2])
        return "\n".join(out)


def _reduce(
    text: str, wanted: Sequence, project: ProjectIndex, filename: str
) -> Optional[_Reduction]:
    if text.count("\n") < BIG_FILE_LINES or not all(codemod.LOCAL for codemod in wanted):
        return None
    if "\r" in text.replace("\r\n", ""):
        return None  # old-Mac line endings: ast and str.split would count lines differently
    try:
        tree = syntax.parse(text)
    except (SyntaxError, ValueError):
        return None  # nothing parses it: libcst gets the whole file
    tokens = {token for codemod in wanted for token in codemod.reduction_tokens(filename, project)}
    lines = text.split("\n")
    # A module-level import that holds a token makes the names it binds tokens too:
    # `from httpx import AsyncClient` -> a def using `AsyncClient` is relevant.
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            chunk = "\n".join(lines[statement.lineno - 1 : statement.end_lineno])
            if any(token in chunk for token in tokens):
                tokens |= {
                    alias.asname or alias.name.split(".")[0]
                    for alias in statement.names
                    if alias.name != "*"
                }
    # So does a module-level assignment that holds one: `S = requests.Session()` -> a def
    # using `S` is relevant (second, so `from requests import Session` counts too).
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            chunk = "\n".join(lines[statement.lineno - 1 : statement.end_lineno])
            if any(token in chunk for token in tokens):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                tokens |= {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
    actions = project.actions.get(filename)
    action_lines: Set[int] = set()
    if actions is not None:
        action_lines |= {span[0] for span in actions.await_spans | actions.run_spans}
        action_lines |= {line for line, _ in actions.make_async}

    def keep(first: int, last: int) -> bool:
        if any(first <= line <= last for line in action_lines):
            return True
        chunk = "\n".join(lines[first - 1 : last])
        return any(token in chunk for token in tokens)

    return _Reduction(text, tree, keep)


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
    selected = [BY_NAME[name] for name in settings.codemods]
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
    module = _parse(work.encode(encoding) if reduction is not None else source)
    file.source = work
    file.ignores = parse_ignore_comments(work)
    tree = module
    for codemod in wanted:
        file.shifted = bool(file.rewrites)
        try:
            tree = codemod(CodemodContext(filename=path), file).transform_module(tree)
        except Exception as error:
            raise InternalError(f"codemod {codemod.NAME} raised {type(error).__name__}: {error}")
    new_work = tree.visit(ParenthesizeAwaits()).code
    if new_work == work:
        return Rewritten(text, None, encoding, file)
    new_work = imports.place(work, new_work, filename, settings.root, settings.isort)
    notes: List[str] = []
    if black_mode is not None:
        from .formatting import format_changed

        new_work, note = format_changed(work, new_work, black_mode)
        if note:
            notes.append(note)
    if reduction is None:
        return Rewritten(text, new_work, encoding, file, notes)
    new_text = reduction.splice(new_work)
    if new_text is None:  # a change reached a stub: do it the slow way
        return _rewrite(source, path, settings, project, filename, black_mode, reduce=False)
    return Rewritten(text, new_text, encoding, file, notes)


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
    return Outcome(new, encoding, file.diagnostics, dict(file.rewrites), notes, requirements)


def transform_standalone(
    source: bytes, path: str, settings: Settings, filename: Optional[str] = None
) -> Outcome:
    """Both passes for one source that is its own project (stdin, tests): scan it, build the
    index from it alone, rewrite it; again on the result until it is a fixed point."""
    filename = filename or path
    current, total, notes = source, None, []
    for _ in range(MAX_ROUNDS):
        reason, facts = scan_source(current, filename, settings)
        if reason is not None:
            if current is source:
                raise SourceError(reason)
            raise InternalError(f"the rewritten code does not parse ({reason}); file left as is")
        project = build_index({filename: facts} if facts else {}, settings)
        outcome = transform_source(current, path, settings, project, filename)
        total = outcome if total is None else _merge_outcomes(total, outcome)
        if outcome.new == current:
            total.diagnostics = rounds.final(outcome.diagnostics, notes)
            if not settings.written:
                old, new = (text.decode(outcome.encoding) for text in (source, current))
                total.diagnostics = rounds.as_read(total.diagnostics, old, new)
            return total
        old, new = (text.decode(outcome.encoding) for text in (current, outcome.new))
        notes = rounds.carry(notes, outcome.diagnostics, old, new)
        current = outcome.new
    raise InternalError(NOT_A_FIXED_POINT)


# One run is a fixed point: whatever a round creates (functions made async, new awaits) is seen
# by every codemod in the next round, until a round changes nothing. Two rounds are the rule
# (the second confirms); a file still changing after this many is left alone, as a bug.
MAX_ROUNDS = 5
NOT_A_FIXED_POINT = (
    f"the rewrite did not settle after {MAX_ROUNDS} rounds (a further run would change it "
    "again); file left as is"
)


def _merge_outcomes(first: Outcome, later: Outcome) -> Outcome:
    """What rounds of one file add up to: the last text and its diagnostics (positions in the
    text as written), every rewrite, note and requirement."""
    rewrites = dict(first.rewrites)
    for name, count in later.rewrites.items():
        rewrites[name] = rewrites.get(name, 0) + count
    requirements = {k: list(v) for k, v in first.requirements.items()}
    for package, names in later.requirements.items():
        requirements[package] = sorted(set(requirements.get(package, [])) | set(names))
    notes = list(dict.fromkeys([*first.notes, *later.notes]))
    return Outcome(later.new, first.encoding, later.diagnostics, rewrites, notes, requirements)


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


_VANISHED = "the file vanished during the run"


def _read(file: SourceFile) -> Union[bytes, FileResult]:
    try:
        with open(file.path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return FileResult(file.display, file.path, FAILED, error=_VANISHED)
    except OSError as error:
        return FileResult(file.display, file.path, FAILED, error=f"cannot read: {error.strerror}")


Facts = Dict[str, Any]  # codemod NAME -> that codemod's collect() result for one file
# The call-graph facts of the await machinery travel under this key.
CALL_GRAPH = "<call graph>"


def scan_source(
    source: bytes, filename: str, settings: Settings, survey: bool = False
) -> Tuple[Optional[str], Optional[Facts]]:
    """The first pass for one file's bytes: why it cannot be processed (None if it can), and
    the facts the selected codemods collect from its ``ast`` (None: a survey of a file that is
    not a seed of the prefilter, see :func:`_scan_source`)."""
    # A tree is a million small objects that die together: the cyclic collector would scan
    # them again and again while they are built and walked (a quarter of the pass, measured).
    # Nothing here makes cycles, so reference counting frees it all.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan_source(source, filename, settings, survey)
    finally:
        if enabled:
            gc.enable()


def _scan_source(
    source: bytes, filename: str, settings: Settings, survey: bool = False
) -> Tuple[Optional[str], Optional[Facts]]:
    """With ``survey``, a file that is not a seed of the prefilter is only parsed: its facts
    are None (collected later if the fixed point of prefilter.Demand wants them)."""
    try:
        tree, reason = _ast_parse(source)
        facts: Facts = {}
        if tree is None and reason is not None:
            # Newer syntax than this interpreter knows: libcst parses it, and syntax.py makes
            # the text this ast parses with every token in place, so the facts are the same.
            # What nothing parses is a syntax error, or "not analysed: needs Python >= X".
            tree, reason = syntax.newer_tree(source, reason)
        if tree is not None:
            if survey and not prefilter.is_seed(source):
                return None, None
            for name in settings.codemods:
                collected = BY_NAME[name].collect(tree, filename, source)
                if collected is not None:
                    facts[name] = collected
            # The call graph (for the await machinery) and the identifiers in coroutines (for
            # every codemod's cheap wants() check) come from one walk of the tree.
            facts[CALL_GRAPH] = collect_module(tree, filename, source)
            return None, facts
    except RecursionError:
        return "the file is nested too deeply to parse", {}
    return reason, {}


# What a worker of the first pass returns for one file: its failure (None when it goes on to
# the rewrite), its facts (None: not collected, the prefilter did not want them yet) and, for a
# file not collected, its identifiers and bound names (prefilter.identifiers, .bindings).
Scan = Tuple[Optional[FileResult], Optional[Facts], Optional[Tuple[FrozenSet[str], FrozenSet[str]]]]


def scan_file(file: SourceFile, survey: bool = False) -> Scan:
    """The first pass for one file (see :data:`Scan`); with ``survey``, facts are collected only
    for a seed of the prefilter."""
    source = _read(file)
    if isinstance(source, FileResult):
        return source, {}, None
    settings = _worker_args[0]
    cached = cache.load(settings.scan_cache, file.path, source) if settings.scan_cache else None
    names: Optional[Tuple[FrozenSet[str], FrozenSet[str]]] = None
    if cached is not None and (survey or cached[1] is not None):
        reason, facts, names = cached
    else:
        reason, facts = scan_source(source, file.path, settings, survey)
        if facts is None:
            names = (prefilter.identifiers(source), prefilter.bindings(source))
        if settings.scan_cache:
            cache.store(settings.scan_cache, file.path, source, (reason, facts, names))
    if reason is None:
        return None, facts, names
    if syntax.is_not_analysed(reason):  # newer syntax: a notice, not a failure
        return FileResult(file.display, file.path, UNCHANGED, notes=[reason]), {}, None
    return FileResult(file.display, file.path, FAILED, error=reason), {}, None


def _survey_file(file: SourceFile) -> Scan:
    return scan_file(file, survey=True)


def _first_pass(files: Sequence[SourceFile], settings: Settings, jobs: int) -> List[Scan]:
    """Every file parsed; facts collected from every file, or, with the prefilter, from the
    seeds and then from what their facts make interesting, to a fixed point."""
    initargs = (settings, ProjectIndex())
    if not prefilter.enabled(settings.options):
        return list(_parallel_map(scan_file, files, jobs, initargs))
    scans = list(_parallel_map(_survey_file, files, jobs, initargs))
    demand = prefilter.Demand(CALL_GRAPH)
    demand.files((file.path for file in files), settings.root)
    position = {file.path: index for index, file in enumerate(files)}
    for file, (failure, facts, names) in zip(files, scans):
        if failure is None and facts is None:
            demand.waiting(file.path, *(names or ((), ())))
        elif failure is None:
            demand.add(file.path, facts or {})
    while True:
        wanted = [files[position[path]] for path in demand.wanted()]
        if not wanted:
            break
        for file, scan in zip(wanted, _parallel_map(scan_file, wanted, jobs, initargs)):
            scans[position[file.path]] = scan
            if scan[0] is None:
                demand.add(file.path, scan[1] or {})
    PHASES["files collected"] = float(sum(1 for scan in scans if scan[1]))
    return scans


def process_file(
    file: SourceFile, settings: Settings, project: ProjectIndex, source: Optional[bytes] = None
) -> FileResult:
    """Rewrite one file: its bytes on disk, or ``source``, the text an earlier round made."""
    if source is None:
        source = _read(file)
        if isinstance(source, FileResult):
            return source
    result = FileResult(file.display, file.path, UNCHANGED)
    try:
        outcome = transform_source(source, file.display, settings, project, file.path)
    except (SourceError, InternalError) as error:
        kind = "internal error: " if isinstance(error, InternalError) else ""
        result.status, result.error = FAILED, f"{kind}{error}"
        return result
    except RecursionError:
        result.status, result.error = FAILED, "the file is nested too deeply to parse"
        return result
    result.diagnostics, result.rewrites, result.notes = (
        outcome.diagnostics,
        outcome.rewrites,
        outcome.notes,
    )
    if outcome.new != source:
        result.status = CHANGED
        result.requirements = outcome.requirements
        result.new = outcome.new
        result.original_digest = digest(source)
        result.old_text = source.decode(outcome.encoding)
        result.new_text = outcome.new.decode(outcome.encoding)
        result.diff = unified_diff(result.old_text, result.new_text, file.display)
    return result


# Worker processes get the run's settings (and, for the rewrite, the project index) once, at
# start-up; read-only for the life of the process.
_worker_args: Tuple[Settings, ProjectIndex] = (Settings(codemods=()), ProjectIndex())


def _init_worker(settings: Settings, project: ProjectIndex) -> None:
    global _worker_args
    _worker_args = (settings, project)
    resolve.configure(settings.root, settings.options.get("roots", ()))


def build_index(per_file: Mapping[str, Facts], settings: Settings) -> ProjectIndex:
    resolve.configure(settings.root, settings.options.get("roots", ()))
    codemods = [BY_NAME[name] for name in settings.codemods]
    modules = {path: facts[CALL_GRAPH] for path, facts in per_file.items() if CALL_GRAPH in facts}
    index = combine_all(per_file, codemods, settings.root, modules, settings.options)
    return dataclasses.replace(index, options=settings.options)


def _process_in_worker(item: Tuple[SourceFile, Optional[bytes]]) -> FileResult:
    file, source = item
    return process_file(file, *_worker_args, source=source)


def _parallel_map(
    function, items: Sequence, jobs: int, initargs: tuple = (), chunked: bool = True
) -> Iterator:
    """``map`` over worker processes, results in the order of ``items``. ``chunked=False``
    hands out one item at a time: for work whose cost is concentrated in a few items."""
    if jobs <= 1 or len(items) <= 1:
        if initargs:
            _init_worker(*initargs)
        yield from map(function, items)
        return
    chunksize = max(1, min(64, len(items) // (jobs * 8))) if chunked else 1
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker if initargs else None, initargs=initargs
    )
    try:
        yield from pool.map(function, items, chunksize=chunksize)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# Wall seconds per phase of the last run() in this process (benchmarks/tool_speed.py prints
# them; with ASYNCFIX_PHASES=1 in the environment, run() writes them to stderr at the end).
PHASES: Dict[str, float] = {}


def _phase(name: str, started: float) -> float:
    now = time.perf_counter()
    PHASES[name] = PHASES.get(name, 0.0) + now - started
    return now


def run(files: Sequence[SourceFile], settings: Settings, jobs: int) -> Iterator[FileResult]:
    """Scan every file and build the project index, then rewrite the files that parsed, in
    rounds until nothing changes; results in the order of ``files``, whatever the scheduling."""
    PHASES.clear()
    started = time.perf_counter()
    key = _run_key(files, settings) if settings.scan_cache else None
    if key is not None:
        kept = cache.load_run(settings.scan_cache, key)
        if isinstance(kept, list) and len(kept) == len(files):
            _phase("reused the last run", started)
            _print_phases()
            yield from kept
            return
    scans = _first_pass(files, settings, jobs)
    started = _phase("scan", started)
    facts = {file.path: facts for file, (_, facts, _) in zip(files, scans) if facts}
    good = [file for file, (failure, _, _) in zip(files, scans) if failure is None]
    final = _rounds(good, facts, settings, jobs)
    _print_phases()
    if not settings.written:
        for result in final.values():
            if result.status == CHANGED:
                result.diagnostics = rounds.as_read(
                    result.diagnostics, result.old_text or "", result.new_text or ""
                )
    results = [
        failure if failure is not None else final[file.path]
        for file, (failure, _, _) in zip(files, scans)
    ]
    if key is not None and all(result.error != _VANISHED for result in results):
        cache.store_run(settings.scan_cache, key, results)
    yield from results


def _print_phases() -> None:
    if os.environ.get("ASYNCFIX_PHASES"):
        shown = (
            f"{k} {v:.0f}" if k.startswith("files") else f"{k} {v:.2f} s" for k, v in PHASES.items()
        )
        print("asyncfix phases: " + ", ".join(shown), file=sys.stderr)


def _canonical(value: Any) -> Any:
    """``value`` as text that is the same in every process (sets sorted, dataclasses and
    mappings by field): part of the key of a whole run."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return f"{type(value).__name__}({_canonical(fields)})"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(sorted(f"{_canonical(k)}: {_canonical(v)}" for k, v in value.items()))
            + "}"
        )
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    return repr(value)


def _run_key(files: Sequence[SourceFile], settings: Settings) -> Optional[str]:
    """The key of this run's results in the cache (cache.run_key); None when a file cannot be
    read (the run reports it, and is not kept)."""
    contents = []
    for file in files:
        source = _read(file)
        if isinstance(source, FileResult):
            return None
        contents.append((file.display, file.path, digest(source)))
    described = _canonical(
        dataclasses.replace(settings, scan_cache=None, root=os.path.abspath(settings.root))
    )
    return cache.run_key(described, contents)


def _rounds(
    good: Sequence[SourceFile], facts: Dict[str, Facts], settings: Settings, jobs: int
) -> Dict[str, FileResult]:
    """The rewrite phase to a fixed point over the whole program. Round 1 rewrites every file;
    each later round rescans the files the last round changed, rebuilds the index from the new
    facts, and rewrites again the files that can come out otherwise: those changed, those whose
    await actions moved, and, when any codemod's combined facts moved, every file (most leave
    at the cheap ``wants()`` check). A file is final when a round leaves it as it is, so the
    diagnostics are those of the text as written, and ``--check`` afterwards reports the same."""
    started = time.perf_counter()
    project = build_index(facts, settings)
    started = _phase("index", started)
    results: Dict[str, FileResult] = {}
    current: Dict[str, bytes] = {}  # path -> the text the rounds so far made of it
    notes: Dict[str, List[Diagnostic]] = {}  # path -> notes on rewrites (rounds.py), on lines of it
    todo = list(good)
    for _ in range(MAX_ROUNDS):
        items = [(file, current.get(file.path)) for file in todo]
        # Most files return at once (no codemod wants them) and a few cost seconds each, often
        # neighbours (one package's big modules): chunks would give them all to one worker.
        outputs = _parallel_map(_process_in_worker, items, jobs, (settings, project), chunked=False)
        changed: Set[str] = set()
        for file, result in zip(todo, outputs):
            earlier = results.get(file.path)
            results[file.path] = result if earlier is None else _merge_results(earlier, result)
            if result.status == CHANGED:
                current[file.path] = result.new or b""
                changed.add(file.path)
                mine = notes.get(file.path, [])
                notes[file.path] = rounds.carry(
                    mine, result.diagnostics, result.old_text or "", result.new_text or ""
                )
            elif result.status == FAILED:
                current.pop(file.path, None)
        started = _phase("rewrite", started)
        if not changed:
            for path, result in results.items():
                result.diagnostics = rounds.final(result.diagnostics, notes.get(path, []))
            return results
        for path in sorted(changed):
            reason, facts[path] = scan_source(current[path], path, settings)
            if reason is not None:  # cannot happen: the output compiled
                results[path] = replace(
                    results[path],
                    status=FAILED,
                    error=f"internal error: the rewritten code does not parse ({reason})",
                )
                changed.discard(path)
                facts.pop(path, None)
        new_project = build_index(facts, settings)
        started = _phase("rescan+index", started)
        everything = new_project.facts != project.facts
        todo = [
            file
            for file in good
            if results[file.path].status != FAILED
            and (
                everything
                or file.path in changed
                or new_project.actions.get(file.path) != project.actions.get(file.path)
            )
        ]
        project = new_project
    for path in changed:
        results[path] = replace(
            results[path], status=FAILED, error=f"internal error: {NOT_A_FIXED_POINT}"
        )
    return results


def _merge_results(earlier: FileResult, later: FileResult) -> FileResult:
    """One file's result over two rounds: the later text and diagnostics, against what was
    read from disk in the first."""
    if later.status == FAILED or earlier.status != CHANGED:
        if later.status == FAILED or earlier.status != CHANGED and later.status == CHANGED:
            return later
        return replace(earlier, diagnostics=later.diagnostics)
    merged = replace(earlier, diagnostics=later.diagnostics)
    if later.status == CHANGED:
        merged.new, merged.new_text = later.new, later.new_text
        merged.diff = unified_diff(merged.old_text or "", merged.new_text or "", merged.display)
        for name, count in later.rewrites.items():
            merged.rewrites[name] = merged.rewrites.get(name, 0) + count
        for package, names in later.requirements.items():
            merged.requirements[package] = sorted(
                set(merged.requirements.get(package, [])) | set(names)
            )
        merged.notes = list(dict.fromkeys([*earlier.notes, *later.notes]))
    return merged


def default_jobs() -> int:
    return os.cpu_count() or 1
