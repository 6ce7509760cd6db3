"""The last run's project index, kept: a run whose every file has the first-pass facts of the
last run uses that index instead of building it again, and does not load the facts of the files
whose bytes did not change.

What invalidates what (besides the tool digest, cache.py: another asyncfix build or codemod
selection is another cache directory):

- The index is a function of the run's settings, the package markers of the directories
  holding its files (resolution, as in cache.run_key), and every file's first-pass result
  (``(reason, facts, names)``, scan.py), which is a function of the file's path and bytes.
- So the kept index holds, per file, its path as shown, the SHA-256 of the bytes it was built
  from and the file's first-pass failure. A run with the same settings, markers and set of
  files reuses it when every file either has the same bytes, or has other bytes whose
  first-pass result is the same value as the one the kept index was built from (an edit
  that changes no fact: a comment added at the end, the text of a string no codemod reads),
  compared by :func:`same`, which is strict (types, dict order) but for set order. The old
  result is the file's per-file cache entry (cache.load_any), read before the new bytes are
  scanned, used only when its SHA-256 is the one the kept index names.
- Anything else (a fact moved, a file added, removed, renamed or unreadable, a marker, another
  setting, an entry missing or foreign) builds the index again from every file's facts, and
  keeps that one.

What an edit that moves a fact rebuilds: the whole index, from every file's cached facts. On
an 816-file tree, a function added to one file (in process, on the facts of that tree): the
build was 2.6-3.5 s CPU; 1.2-1.4 s now, with the same index, from two changes that are not
incremental but remove work every build did (cold runs too): names.Resolver answers each call
site once per build (the analyses asked 508k times about 80k sites), and scan.build_index runs
with the cyclic GC off (each collection walked the million objects of the loaded facts). What
is left of it: the await analysis with native's plan (await_coroutines' analyse, ~0.9 s),
demote_to_def's blocking plans (~0.35 s), the combines (~0.2 s, most of it the module names of
every file, which the resolver needs too); and before it, loading every file's facts (0.5-0.9
s). That edit moves no await action and no blocking plan: of the whole index only
cpu_to_executor's program-wide ``functions``/``local`` maps change (a key added), and the
rewrites read those per key (reads.py), so the edited file is the only one rewritten again.

Not incremental, and why (none of these was built; each needs the analysis rewritten around
its seeds, with a test of kept + edit against scratch on generated edits):

- the analyses (propagate.build, native.plan, blocking.analyse) build program-wide maps
  (every def, every caller) and run to a fixed point from all seeds; a def added is a key of
  those maps, so a record of what a build read of each file's facts (as reads.py does for the
  rewrites) would see every def map read whole and never hold. Resuming needs each analysis
  to keep its maps and fixed point and take the changed file's defs, calls and references in
  and out;
- the resolver's answers could be kept with the modules each read (found or not: a def added
  where a name was missing changes the answer) and only those that read the changed file
  asked again; with the memo above, asking all 80k again costs ~0.3 s, so keeping them (and
  loading them) would save little until the analyses that ask are incremental;
- each codemod's ``combine()`` is a function of its own per-file facts, root and options, so
  its value could be reused when the changed file's facts of that codemod are the same; but
  the analyses replace some combined values (fact_gates, gates.py), so the kept index does
  not hold the combine's own value, and the combines cost ~0.2 s in all;
- the facts of every file are loaded because the build reads them all; one entry holding
  them all measured no faster than one per file (above).

What is incremental: the rewrites. A file is rewritten again only when its bytes or what its
last rewrite read of the rebuilt index changed (memo.py, reads.py), in each round (one kept
rewrite per file and round number), and the index of each later round is kept under the key of
the texts it was built from (:meth:`FirstPass.later`).

Two entries per settings: the index itself, and the list of files, rewritten alone when an edit
changed no fact (so the next run compares with the new bytes). Both carry the id of the index;
written atomically; an unreadable, truncated or foreign entry is a miss.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import cache, prefilter, scan
from .files import SourceFile, digest
from .phases import PHASES
from .program_facts import ProjectIndex
from .results import Facts, FileResult, Settings, read_source

_INDEX = b"asyncfix-kept-index-1"
_FILES = b"asyncfix-kept-files-1"

# path -> (path as shown, SHA-256 of the bytes, the first-pass failure or None)
Manifest = Dict[str, Tuple[str, bytes, Optional[FileResult]]]


@dataclass
class Kept:
    index: ProjectIndex
    seen: Dict[Any, str]  # what reads of the rewrites saw in it (reads.value_of)
    manifest: Manifest
    ident: str


_SEEN = b"asyncfix-kept-seen-1"
_LATER = b"asyncfix-kept-later-1"


def _entries(directory: str, settings: Settings) -> Tuple[str, str]:
    name = hashlib.sha256(cache.describe(settings).encode()).hexdigest()[:32]
    base = os.path.join(directory, "index", name)
    return base, base + "-files"


def store_seen(directory: str, settings: Settings, ident: str, seen: Dict[Any, str]) -> None:
    """Keep what the reads of the rewrites saw in the index ``ident`` (reads.value_of)."""
    cache.write_entry(
        _entries(directory, settings)[0] + "-seen", _SEEN + b" " + ident.encode(), seen
    )


def _read(path: str, header: bytes) -> Any:
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects that make no cycles: see scan.scan_source
    try:
        return cache.read_entry(path, header)
    finally:
        if enabled:
            gc.enable()


def load(directory: str, settings: Settings, markers: str) -> Optional[Kept]:
    """The kept index for ``settings`` and these package ``markers`` (cache.package_markers),
    or None."""
    index_path, files_path = _entries(directory, settings)
    files = _read(files_path, _FILES + b" " + markers.encode())
    if not (isinstance(files, tuple) and len(files) == 2 and isinstance(files[1], dict)):
        return None
    ident, manifest = files
    index = _read(index_path, _INDEX + b" " + markers.encode() + b" " + str(ident).encode())
    if not isinstance(index, ProjectIndex):
        return None
    seen = _read(index_path + "-seen", _SEEN + b" " + str(ident).encode())
    return Kept(index, seen if isinstance(seen, dict) else {}, manifest, ident)


def store(
    directory: str,
    settings: Settings,
    markers: str,
    manifest: Manifest,
    index: Optional[ProjectIndex],
    ident: Optional[str] = None,
) -> Optional[str]:
    """Keep ``index`` (None: keep the list of files alone, for the index ``ident`` kept);
    returns the id of the index kept."""
    index_path, files_path = _entries(directory, settings)
    if index is not None:
        ident = hashlib.sha256(os.urandom(16)).hexdigest()[:16]
        header = _INDEX + b" " + markers.encode() + b" " + ident.encode()
        cache.write_entry(index_path, header, index)
    cache.write_entry(files_path, _FILES + b" " + markers.encode(), (ident, manifest))
    return ident


# path -> (bytes, their SHA-256), as read once in a run
Disk = Dict[str, Tuple[bytes, bytes]]


def manifest_of(files: Sequence[SourceFile], sources: Disk, failures) -> Manifest:
    return {
        file.path: (file.display, sources[file.path][1], failure)
        for file, failure in zip(files, failures)
    }


def read_all(files: Sequence[SourceFile]) -> Optional[Disk]:
    """Every file's bytes and their SHA-256, or None when one cannot be read (such a run is
    not kept)."""
    sources: Disk = {}
    for file in files:
        source = read_source(file)
        if isinstance(source, FileResult):
            return None
        sources[file.path] = (source, digest(source))
    return sources


def changed_files(kept: Kept, files: Sequence[SourceFile], sources: Disk) -> Optional[List[int]]:
    """The positions in ``files`` of the files whose bytes are not those of the kept index;
    None when the kept index is not of these files (one added, removed, or shown otherwise)."""
    manifest = kept.manifest
    if len(manifest) != len(files):
        return None
    changed = []
    for position, file in enumerate(files):
        known = manifest.get(file.path)
        if known is None or known[0] != file.display:
            return None
        if known[1] != sources[file.path][1]:
            changed.append(position)
    return changed


def same(old: Any, new: Any) -> bool:
    """Whether two first-pass results are the same value: same types, dicts with the same keys
    in the same order, sequences element by element, sets as sets (their order differs between
    processes and nothing reads it), dataclasses and plain objects field by field."""
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return list(old) == list(new) and all(same(old[k], new[k]) for k in old)
    if isinstance(old, (list, tuple)):
        return len(old) == len(new) and all(same(a, b) for a, b in zip(old, new))
    if isinstance(old, (set, frozenset, str, bytes, int, float, bool, type(None))):
        return bool(old == new)
    if dataclasses.is_dataclass(old):
        return all(
            same(getattr(old, f.name), getattr(new, f.name)) for f in dataclasses.fields(old)
        )
    if hasattr(old, "__dict__") and not hasattr(old, "__slots__"):
        return same(vars(old), vars(new))
    return False  # something this cannot compare: the index is built again


class FirstPass:
    """The first pass of a run: every file's failure (None: it goes on to the rewrite), the
    kept index when it holds (``project``), and every file's facts, loaded when
    asked (:meth:`facts`: with a kept index, only when a later round needs them)."""

    def __init__(
        self,
        failures: List[Optional[FileResult]],
        load_facts: Callable[[], Dict[str, Facts]],
        keep: Optional[Callable[[ProjectIndex], Optional[str]]] = None,
        kept: Optional[Kept] = None,
        directory: Optional[str] = None,
        settings: Optional[Settings] = None,
        disk: Optional[Disk] = None,
    ) -> None:
        self.failures = failures
        self.disk: Disk = disk or {}  # the files' bytes as this run read them, when it did
        self._load_facts = load_facts
        self._keep = keep
        self.project = kept.index if kept is not None else None
        # what reads saw in ``project`` (reads.value_of), kept with it; filled by the rewrite
        self.seen: Dict[Any, str] = dict(kept.seen) if kept is not None else {}
        self._ident = kept.ident if kept is not None else None
        self._known = len(self.seen)
        self._where = (directory, settings)
        # path -> the SHA-256 of the bytes its facts are those of (later rounds' keys), markers
        self.identity: Dict[str, bytes] = {}
        self._markers = ""
        self._round = 1

    def facts(self) -> Dict[str, Facts]:
        return self._load_facts()

    def keep(self, project: ProjectIndex) -> None:
        """Keep ``project``, the index built from these facts, for the next run."""
        if self._keep is not None:
            self.project, self.seen, self._known = project, {}, 0
            self._ident = self._keep(project)

    def later(
        self, scanned: Dict[str, Optional[bytes]]
    ) -> Tuple[Optional[str], Optional[ProjectIndex]]:
        """The key of the index of a later round, built from the facts of ``scanned`` (path ->
        the text the rounds made of it; None: no facts) and of the other files as on disk, and
        the index kept under it, if any. A file as on disk stands for the bytes whose facts
        the kept index was built from (its facts were found the same), a text by its SHA-256:
        equal keys, equal facts, equal index."""
        directory, settings = self._where
        if not (directory and settings and self.identity):
            return None, None
        state = hashlib.sha256(cache.describe(settings).encode() + self._markers.encode())
        for path in sorted(self.identity):
            if path not in scanned:
                seen = self.identity[path]
            else:
                text = scanned[path]
                seen = b"\1no facts" if text is None else b"\2" + digest(text)
            state.update(path.encode() + b"\0" + seen)
        key = state.hexdigest()
        self._round += 1
        kept = _read(self._later_entry(), _LATER + b" " + key.encode())
        return key, kept if isinstance(kept, ProjectIndex) else None

    def keep_later(self, key: Optional[str], project: ProjectIndex) -> None:
        directory, settings = self._where
        if key and directory and settings:
            cache.write_entry(self._later_entry(), _LATER + b" " + key.encode(), project)

    def _later_entry(self) -> str:
        directory, settings = self._where
        return _entries(directory, settings)[0] + f"-round{self._round}"

    def keep_seen(self) -> None:
        """Keep what the reads saw in the kept index, when a rewrite read something new."""
        directory, settings = self._where
        if self._ident and directory and settings and len(self.seen) > self._known:
            store_seen(directory, settings, self._ident, self.seen)
            self._known = len(self.seen)


def first_pass(files: Sequence[SourceFile], settings: Settings, jobs: int) -> FirstPass:
    """scan.first_pass, or, when the kept index holds for these files (module docstring), the
    first pass of the files whose bytes changed alone."""
    directory = settings.scan_cache
    sources = None
    if directory and not prefilter.enabled(settings.options):
        sources = read_all(files)
    if directory is None or sources is None:
        return _computed(files, settings, jobs)
    markers = cache.package_markers([file.path for file in files])
    kept = load(directory, settings, markers)
    changed = changed_files(kept, files, sources) if kept is not None else None
    if kept is not None and changed is not None:
        edited = [files[position] for position in changed]
        olds = [
            cache.load_any(directory, file.path, kept.manifest[file.path][1]) for file in edited
        ]
        news = scan.first_pass(edited, settings, jobs)
        if all(
            old is not None and old[0] is None and new[0] is None and same(old[1:], new[1:])
            for old, new in zip(olds, news)
        ):
            failures = [kept.manifest[file.path][2] for file in files]
            for position in changed:
                failures[position] = None
            if changed:
                manifest = manifest_of(files, sources, failures)
                store(directory, settings, markers, manifest, None, kept.ident)
            PHASES["files scanned"] = float(len(edited))
            reused = FirstPass(
                failures,
                lambda: _facts(files, scan.first_pass(files, settings, jobs)),
                kept=kept,
                directory=directory,
                settings=settings,
                disk=sources,
            )
            reused.identity = {path: known[1] for path, known in kept.manifest.items()}
            reused._markers = markers
            return reused
    first = _computed(files, settings, jobs)

    def keep(project: ProjectIndex) -> Optional[str]:
        manifest = manifest_of(files, sources, first.failures)
        return store(directory, settings, markers, manifest, project)

    first._keep, first._where, first.disk = keep, (directory, settings), sources
    first.identity = {path: sha for path, (_, sha) in sources.items()}
    first._markers = markers
    return first


def _computed(files: Sequence[SourceFile], settings: Settings, jobs: int) -> FirstPass:
    scans = scan.first_pass(files, settings, jobs)
    facts = _facts(files, scans)
    return FirstPass([failure for failure, _, _ in scans], lambda: facts)


def _facts(files: Sequence[SourceFile], scans: Sequence[scan.Scan]) -> Dict[str, Facts]:
    return {file.path: facts for file, (_, facts, _) in zip(files, scans) if facts}
