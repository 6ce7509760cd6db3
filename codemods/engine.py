"""The rewrite engine: one file in, bytes and a result out; many files in parallel processes.

The run (this module): the first pass over every file (scan.py) builds the
:class:`ProjectIndex`; the rewrite of each file (rewrite.py) follows, in rounds over the whole
program until a round changes nothing. The CLI only renders the :class:`FileResult` values this
produces (results.py), and hands those to be written to :func:`write_result` (``writer.py``).

With the cache on (cache.py), a file's first-pass result is reused while its bytes are the
same, and a run whose files, package markers and settings are all as in the last run reuses
that run's results whole; the last run's index is reused while every file's facts are the ones
it was built from (kept_index.py), and a file's rewrite while what it read of the index is the
same (memo.py, reads.py).
"""

from __future__ import annotations

import gc
import time
from dataclasses import replace
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from . import cache, groups, kept_index, memo, reads, rounds, workers
from .diagnostic import Diagnostic
from .files import SourceFile
from .phases import PHASES, phase, print_phases
from .program_facts import ProjectIndex
from .results import (  # noqa: F401 - re-exported: the engine's interface
    CHANGED,
    FAILED,
    UNCHANGED,
    VANISHED,
    Facts,
    FileResult,
    InternalError,
    Outcome,
    Settings,
    SourceError,
    default_jobs,
    read_source,
    unified_diff,
)
from .rewrite import (  # noqa: F401 - re-exported
    MAX_ROUNDS,
    NOT_A_FIXED_POINT,
    process_file,
    transform_source,
)
from .scan import build_index, first_pass, scan_source  # noqa: F401 - re-exported
from .workers import parallel_map
from .writer import write_result  # noqa: F401 - the engine owns writes: writer.py


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


def _process_in_worker(
    item: Tuple[SourceFile, Optional[bytes]],
) -> Tuple[FileResult, Tuple[reads.Read, ...]]:
    """The rewrite of one file, and what it read of the index (reads.py) when the worker's
    index records reads."""
    file, source = item
    settings, project = workers.worker_args
    if not isinstance(project, reads.Tracked):
        return process_file(file, settings, project, source=source), ()
    project.start()
    result = process_file(file, settings, project, source=source)
    return result, project.taken()


def run(
    files: Sequence[SourceFile], settings: Settings, jobs: int, key: Optional[str] = None
) -> Iterator[FileResult]:
    """Scan every file and build the project index, then rewrite the files that parsed, in
    rounds until nothing changes; results in the order of ``files``, whatever the scheduling.
    ``key``: the run's key in the whole-run cache (cache.key_of_run), if already computed."""
    PHASES.clear()
    started = time.perf_counter()
    if key is None and settings.scan_cache:
        key = cache.key_of_run(files, settings)
    kept = cache.reused(files, settings, key)
    if kept is not None:
        phase("reused the last run", started)
        print_phases()
        yield from kept
        return
    first = kept_index.first_pass(files, settings, jobs)
    started = phase("scan", started)
    good = [file for file, failure in zip(files, first.failures) if failure is None]
    final = _rounds(good, first, settings, jobs)
    print_phases()
    if not settings.written:
        for result in final.values():
            if result.status == CHANGED:
                result.diagnostics = rounds.as_read(
                    result.diagnostics, result.old_text or "", result.new_text or ""
                )
    results = groups.plan(
        [
            failure if failure is not None else final[file.path]
            for file, failure in zip(files, first.failures)
        ],
        settings.root,
    )
    if key is not None and all(result.error != VANISHED for result in results):
        cache.store_run(settings.scan_cache, key, results)
    yield from results


def _rounds(
    good: Sequence[SourceFile], first: kept_index.FirstPass, settings: Settings, jobs: int
) -> Dict[str, FileResult]:
    """The rewrite phase to a fixed point over the whole program. Round 1 rewrites every file;
    each later round rescans the files the last round changed, rebuilds the index from the new
    facts, and rewrites again the files that can come out otherwise: those changed, those whose
    await actions moved, and, when any codemod's combined facts moved, every file (most leave
    at the cheap ``wants()`` check). A file is final when a round leaves it as it is, so the
    diagnostics are those of the text as written, and ``--check`` afterwards reports the same."""
    started = time.perf_counter()
    project = first.project
    facts: Optional[Dict[str, Facts]] = None
    if project is None:  # no kept index (kept_index.py) holds for these files
        facts = first.facts()
        project = build_index(facts, settings)
        first.keep(project)
    started = phase("index", started)
    keys = memo.Keys(project, settings, first.seen) if settings.scan_cache else None
    results: Dict[str, FileResult] = {}
    current: Dict[str, bytes] = {}  # path -> the text the rounds so far made of it
    notes: Dict[str, List[Diagnostic]] = {}  # path -> notes on rewrites (rounds.py), on lines of it
    # path -> the text whose facts the index has for it, when not as on disk (None: no facts)
    scanned: Dict[str, Optional[bytes]] = {}
    todo = list(good)
    for number in range(1, MAX_ROUNDS + 1):
        PHASES["rounds"] = float(number)
        outputs = _rewrite_all(todo, current, settings, project, jobs, keys, first.disk, number)
        if project is first.project:
            first.keep_seen()
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
        started = phase("rewrite", started)
        if not changed:
            for path, result in results.items():
                result.diagnostics = rounds.final(result.diagnostics, notes.get(path, []))
            return results
        for path in changed:
            scanned[path] = current[path]
        later, new_project = first.later(scanned)
        if new_project is None:
            rescan = set(changed)
            if facts is None:  # the facts of every text the rounds so far made
                facts, rescan = first.facts(), set(scanned)
            for path in sorted(rescan):
                text = scanned[path]
                if text is None:
                    facts.pop(path, None)
                    continue
                reason, facts[path] = scan_source(text, path, settings)
                if reason is not None:  # cannot happen: the output compiled
                    scanned[path] = None
                    results[path] = replace(
                        results[path],
                        status=FAILED,
                        error=f"internal error: the rewritten code does not parse ({reason})",
                    )
                    changed.discard(path)
                    facts.pop(path, None)
            new_project = build_index(facts, settings)
            if all(scanned[path] is not None for path in rescan):
                first.keep_later(later, new_project)
        started = phase("rescan+index", started)
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
        keys = memo.Keys(project, settings) if settings.scan_cache else None
    for path in changed:
        results[path] = replace(
            results[path], status=FAILED, error=f"internal error: {NOT_A_FIXED_POINT}"
        )
    return results


def _rewrite_all(
    todo: Sequence[SourceFile],
    current: Dict[str, bytes],
    settings: Settings,
    project: ProjectIndex,
    jobs: int,
    keys: Optional[memo.Keys] = None,
    disk: Optional[kept_index.Disk] = None,
    round_number: int = 1,
) -> List[FileResult]:
    """Round ``round_number``'s rewrite of ``todo`` (each file's text as the rounds so far made
    it, or as on disk), in the order of ``todo``. With the cache on, a file whose inputs are
    those of a kept rewrite of that round (memo.py) is not rewritten again."""
    if not settings.scan_cache or keys is None:
        items = [(file, current.get(file.path)) for file in todo]
        done = parallel_map(_process_in_worker, items, jobs, (settings, project), False)
        return [result for result, _ in done]
    disk = disk or {}
    results: List[Optional[FileResult]] = []
    missing: List[Tuple[int, SourceFile, bytes, str]] = []
    enabled = gc.isenabled()
    gc.disable()  # unpickling kept results: many objects, no cycles (see scan.scan_source)
    try:
        for file in todo:
            source, sha = current.get(file.path), None
            if source is None and file.path in disk:
                source, sha = disk[file.path]
            elif source is None:
                read = read_source(file)
                if isinstance(read, FileResult):
                    results.append(read)
                    continue
                source = read
            key = keys.of(file, source, sha)
            results.append(memo.load(settings.scan_cache, file.path, key, round_number, keys))
            if results[-1] is None:
                missing.append((len(results) - 1, file, source, key))
    finally:
        if enabled:
            gc.enable()
    items = [(file, source) for _, file, source, _ in missing]
    # Most files return at once (no codemod wants them) and a few cost seconds each, often
    # neighbours (one package's big modules): chunks would give them all to one worker.
    tracked = reads.tracked(project)
    outputs = parallel_map(_process_in_worker, items, jobs, (settings, tracked), False)
    for (index, file, _, key), (result, taken) in zip(missing, outputs):
        results[index] = result
        if result.error != VANISHED:
            memo.store(
                settings.scan_cache, file.path, key, round_number, result, keys.values(taken)
            )
    PHASES["files rewritten"] = PHASES.get("files rewritten", 0.0) + len(missing)
    return [result for result in results if result is not None]


def _merge_results(earlier: FileResult, later: FileResult) -> FileResult:
    """One file's result over two rounds: the later text and diagnostics, against what was
    read from disk in the first."""
    ties = {
        "needs": earlier.needs | later.needs,
        "imported": tuple(sorted({*earlier.imported, *later.imported})),
    }
    if later.status == FAILED or earlier.status != CHANGED:
        if later.status == FAILED or earlier.status != CHANGED and later.status == CHANGED:
            return replace(later, **ties)
        return replace(earlier, diagnostics=later.diagnostics, **ties)
    merged = replace(earlier, diagnostics=later.diagnostics, **ties)
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
