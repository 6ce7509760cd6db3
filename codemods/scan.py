"""The first pass: read every file and ``ast``-parse it (fast, C). A syntax error is reported
here, with Python's own message, for every file, whether or not a codemod would touch it. Syntax
newer than the running interpreter falls back to libcst, which parses more grammar versions.
The per-file facts gathered here build the :class:`ProjectIndex`; they are collected only from
the files that can matter (prefilter.py: seeds, then a fixed point on identifiers). With the
cache on (cache.py), a file's first-pass result is reused while its bytes are the same.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
from typing import FrozenSet, List, Mapping, Optional, Sequence, Tuple

from . import cache, prefilter, resolve, syntax, workers
from .callgraph import collect_module
from .files import SourceFile
from .gates import GATE_BY_NAME
from .phases import PHASES
from .program_facts import ProjectIndex
from .propagate import combine_all
from .results import (
    FAILED,
    MODULE_FACTS,
    UNCHANGED,
    Facts,
    FileResult,
    Settings,
    is_not_analysed,
    read_source,
)
from .workers import parallel_map


def ast_parse(source: bytes) -> Tuple[Optional[ast.Module], Optional[str]]:
    """The ``ast`` of ``source``, or Python's own description of why it does not parse."""
    try:
        return ast.parse(source), None
    except SyntaxError as error:
        where = f"line {error.lineno}, column {error.offset}" if error.lineno else "the file"
        return None, f"syntax error at {where}: {error.msg}"
    except (ValueError, UnicodeDecodeError) as error:  # NUL bytes, undecodable bytes
        return None, f"cannot decode the file: {error}"


def python_syntax_error(source: bytes) -> Optional[str]:
    return ast_parse(source)[1]


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
        tree, reason = ast_parse(source)
        facts: Facts = {}
        if tree is None and reason is not None:
            # Newer syntax than this interpreter knows: libcst parses it, and syntax.py makes
            # the text this ast parses with every token in place, so the facts are the same.
            # What nothing parses is a syntax error, or "not analysed: needs Python >= X".
            tree, reason = syntax.newer_tree(source, reason)
        if tree is not None:
            if survey and not prefilter.is_seed(source):
                return None, None
            # The program facts (imports, defs, the call graph, the identifiers in coroutines
            # for every codemod's cheap wants() check) come from one walk of the tree; each
            # codemod's collect() reads them instead of reading the imports again.
            module = collect_module(tree, filename, source)
            for name in settings.codemods:
                collected = GATE_BY_NAME[name].collect(tree, filename, source, module)
                if collected is not None:
                    facts[name] = collected
            facts[MODULE_FACTS] = module
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
    source = read_source(file)
    if isinstance(source, FileResult):
        return source, {}, None
    settings = workers.worker_args[0]
    kept = _kept(file, source, settings, survey)
    if kept is not None:
        return kept
    reason, facts = scan_source(source, file.path, settings, survey)
    names: Optional[Tuple[FrozenSet[str], FrozenSet[str]]] = None
    if facts is None:
        names = (prefilter.identifiers(source), prefilter.bindings(source))
    if settings.scan_cache:
        cache.store(settings.scan_cache, file.path, source, (reason, facts, names))
    return _scan(file, reason, facts, names)


def _kept(file: SourceFile, source: bytes, settings: Settings, survey: bool) -> Optional[Scan]:
    """The first pass of ``file`` as the cache keeps it, or None."""
    cached = cache.load(settings.scan_cache, file.path, source) if settings.scan_cache else None
    if cached is None or not (survey or cached[1] is not None):
        return None
    return _scan(file, *cached)


def _scan(file: SourceFile, reason: Optional[str], facts: Optional[Facts], names) -> Scan:
    if reason is None:
        return None, facts, names
    if is_not_analysed(reason):  # newer syntax: a notice, not a failure
        return FileResult(file.display, file.path, UNCHANGED, notes=[reason]), {}, None
    return FileResult(file.display, file.path, FAILED, error=reason), {}, None


def _survey_file(file: SourceFile) -> Scan:
    return scan_file(file, survey=True)


def first_pass(files: Sequence[SourceFile], settings: Settings, jobs: int) -> List[Scan]:
    """Every file parsed; facts collected from every file, or, with the prefilter, from the
    seeds and then from what their facts make interesting, to a fixed point."""
    initargs = (settings, ProjectIndex())
    if not prefilter.enabled(settings.options):
        if not settings.scan_cache:
            return list(parallel_map(scan_file, files, jobs, initargs))
        # Kept results are read here: a worker would unpickle them, then pickle them again to
        # send them back. Only the files the cache does not know go to the workers.
        scans: List[Optional[Scan]] = []
        enabled = gc.isenabled()
        gc.disable()  # unpickling makes millions of objects and no cycle: 4x faster without
        try:
            for file in files:
                source = read_source(file)
                scans.append(
                    None if isinstance(source, FileResult) else _kept(file, source, settings, False)
                )
        finally:
            if enabled:
                gc.enable()
        missing = [index for index, scan in enumerate(scans) if scan is None]
        computed = parallel_map(scan_file, [files[index] for index in missing], jobs, initargs)
        for index, scan in zip(missing, computed):
            scans[index] = scan
        return [scan for scan in scans if scan is not None]
    scans = list(parallel_map(_survey_file, files, jobs, initargs))
    demand = prefilter.Demand(MODULE_FACTS)
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
        for file, scan in zip(wanted, parallel_map(scan_file, wanted, jobs, initargs)):
            scans[position[file.path]] = scan
            if scan[0] is None:
                demand.add(file.path, scan[1] or {})
    PHASES["files collected"] = float(sum(1 for scan in scans if scan[1]))
    return scans


def build_index(per_file: Mapping[str, Facts], settings: Settings) -> ProjectIndex:
    """The project index of these facts. Built with the cyclic GC off: the analyses make many
    small containers, and each collection they set off walks every object of the facts (about
    a million on an 816-file tree): 20-25% of the build, measured in process on that tree."""
    resolve.configure(settings.root, settings.options.get("roots", ()))
    codemods = [GATE_BY_NAME[name] for name in settings.codemods]
    modules = {
        path: facts[MODULE_FACTS] for path, facts in per_file.items() if MODULE_FACTS in facts
    }
    enabled = gc.isenabled()
    gc.disable()
    try:
        index = combine_all(per_file, codemods, settings.root, modules, settings.options)
    finally:
        if enabled:
            gc.enable()
    return dataclasses.replace(index, options=settings.options)
