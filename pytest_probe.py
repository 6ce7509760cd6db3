"""``pytest --asyncfix-probe``: report every time a test's event loop was blocked.

A pytest plugin shipped with asyncfix (entry point ``pytest11: asyncfix``). It does nothing unless
``--asyncfix-probe`` (or ``--asyncfix-probe-json``) is given; then:

- ``asyncio.BaseEventLoop.run_forever`` is wrapped, so every asyncio loop the tests run registers
  itself while it runs: ``asyncio.run``, pytest-asyncio and anyio test loops, and the loop of the
  portal thread behind ``fastapi.testclient.TestClient`` (``run_until_complete`` goes through
  ``run_forever`` too). uvloop and trio loops are not watched.
- While registered, the loop runs a heartbeat callback (re-armed with ``call_later`` every few
  milliseconds) that records when the next beat is due. An idle loop wakes for it, so a loop
  waiting in ``select`` is never mistaken for a blocked one; a stopped loop is unregistered.
- One watchdog thread looks at every registered loop. When a heartbeat is overdue by half the
  threshold it starts sampling the loop thread's stack (``sys._current_frames()``) until the beat
  runs again. The beat measures how late it ran; if that is over the threshold
  (``--asyncfix-probe-ms``, default 50) the stall is recorded with its samples.
- A stall is attributed to the frame seen most often among its samples: the innermost frame in
  project code (a file under pytest's rootdir, outside site-packages, the virtualenv and the
  standard library), with the call it was making (``time.sleep``) and the innermost Python
  frame overall (``sqlalchemy.engine.default.DefaultDialect.do_execute``).

At the end of the session the stalls are printed as asyncfix diagnostics, one per location with
a count, the worst and total duration (``path:line:col: PROBE001 ...``), and written as JSON by
``--asyncfix-probe-json PATH``. The exit status is not changed.

Only the standard library is used, and asyncio, ast, json and sysconfig are imported only when
the probe runs: a plugin that is not asked for costs a pytest run almost nothing.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # imported where used: an inactive plugin costs pytest no import
    import ast
    import asyncio

CODE = "PROBE001"
DEFAULT_MS = 50.0
HINT = (
    "a blocking call in async code stalls every other request on the loop: use an async "
    "library (asyncfix rewrites many such calls), `await asyncio.to_thread(...)`, or a plain "
    "`def` route, which FastAPI runs in a thread"
)
# Exposed for asyncfix's --explain (output.known_codes reads codemods' CODES only, so this is not
# wired in there yet).
CODES = {
    CODE: """\
The event loop was blocked for longer than the threshold while the tests ran.

Reported at run time by `pytest --asyncfix-probe` (threshold `--asyncfix-probe-ms`, default 50):
a watchdog thread saw that the loop could not run a callback that was due, sampled the loop
thread's stack until it could, and attributed the stall to the project line seen most often
(the innermost frame in your code) with the call it was making and the innermost library frame.
While the loop is blocked, no other request, background task or timeout on it makes progress.

Fix it by moving the blocking work off the loop: an async library (`asyncfix PATH` rewrites
time.sleep, requests, open/Path I/O, subprocess, SQLAlchemy sessions and more), `await
asyncio.to_thread(func, ...)` for a call that has no async form, a process pool for CPU-bound
work, or a plain `def` endpoint, which FastAPI runs in its thread pool.
""",
    "PROBE002": """\
Blocking seen at run time that asyncfix's static analysis did not know about.

Reported by `asyncfix --apply --verify "pytest ..."`: the loop probe (PROBE001) saw the event loop
blocked in your code, on a line whose call is no API asyncfix's tables know to block (a vendor SDK,
a C extension, a library re-exporting a blocking function) and not in `[tool.asyncfix] blocking`.
The diagnostic shows the project frames from the outermost (the test, the route) down to the line,
then the library callable that line called, by its qualified name, and the innermost frame.

`--verify` feeds that name back as a blocking fact and plans a second round with it (the same plan
as `[tool.asyncfix] blocking`: a route that never awaits becomes `def`, the call of a sync helper
runs in `asyncio.to_thread`), verified against the tests again and kept only if they stay green.
To keep the fact for later runs, add the name to `[tool.asyncfix] blocking`. A stall with no
library call to name (the project's own Python code) is reported only: mark the function
`# asyncfix: blocking`, or move the work to a thread or a process pool.
""",
}

_MARK = "__asyncfix_probe_original__"
_SELF = os.path.normcase(os.path.abspath(__file__))


# -- options ---------------------------------------------------------------------------------


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("asyncfix", "asyncfix event-loop probe")
    group.addoption(
        "--asyncfix-probe",
        action="store_true",
        default=False,
        dest="asyncfix_probe",
        help="watch every asyncio event loop the tests run and report each time one was "
        "blocked longer than --asyncfix-probe-ms, with the project line that blocked it",
    )
    group.addoption(
        "--asyncfix-probe-ms",
        type=float,
        default=DEFAULT_MS,
        metavar="MS",
        dest="asyncfix_probe_ms",
        help=f"report stalls longer than MS milliseconds (default {DEFAULT_MS:g})",
    )
    group.addoption(
        "--asyncfix-probe-json",
        metavar="PATH",
        default=None,
        dest="asyncfix_probe_json",
        help="also write the stalls as JSON to PATH (implies --asyncfix-probe)",
    )


def pytest_configure(config: Any) -> None:
    json_path = config.getoption("asyncfix_probe_json")
    if not (config.getoption("asyncfix_probe") or json_path):
        return
    ms = config.getoption("asyncfix_probe_ms")
    if not ms > 0:
        import pytest

        raise pytest.UsageError(f"--asyncfix-probe-ms must be positive, got {ms:g}")
    plugin = ProbePlugin(config, ms / 1000.0, json_path)
    config.pluginmanager.register(plugin, "asyncfix-probe")
    plugin.start()


# -- the probe -------------------------------------------------------------------------------


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# A stack position: (code object, f_lasti, f_lineno, module name).
Site = Tuple[Any, int, int, str]
# (innermost project frame, innermost frame, the frame that project frame called (None: C code
# or project code), the project frames from the outermost to the innermost)
Sample = Tuple[Optional[Site], Site, Optional[Site], Tuple[Site, ...]]


class _Watched:
    """One thread's event loop: when its next heartbeat is due, the samples of a stall.

    One per thread, reused by every loop that runs in it (a thread runs one loop at a time), so
    a loop run allocates nothing that outlives it, and nothing here refers to a loop. The
    loop's thread writes ``due``, ``ended`` and ``running``; the watchdog thread owns
    ``episode`` and ``samples``. No lock: the loop thread appends to ``ended`` (atomic under
    the GIL) before it moves ``due`` on or clears ``running``, and the watchdog reads those in
    the opposite order.
    """

    __slots__ = ("due", "ended", "episode", "running", "samples", "thread_id")

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.due = 0.0
        self.running = False
        self.ended: Deque[Tuple[float, float, Optional[str]]] = deque()  # (due, late, test)
        self.episode: Optional[float] = None  # the `due` the samples belong to
        self.samples: List[Sample] = []


@dataclass
class Stall:
    seconds: float
    samples: List[Sample]
    test: Optional[str]


@dataclass
class Group:
    """Stalls with the same attributed location."""

    path: str
    line: int
    column: int
    function: str
    project: bool
    seconds: List[float] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    innermost: Counter = field(default_factory=Counter)
    tests: List[str] = field(default_factory=list)
    sampled: bool = True
    # what the project line called, qualified ("" unknown) -> samples; the project frames
    # (path, line, function) from the outermost to the innermost -> samples
    callees: Counter = field(default_factory=Counter)
    chains: Counter = field(default_factory=Counter)

    @property
    def worst_ms(self) -> float:
        return max(self.seconds) * 1000.0

    @property
    def total_ms(self) -> float:
        return sum(self.seconds) * 1000.0

    def top(self, counter: Counter) -> Optional[str]:
        return counter.most_common(1)[0][0] if counter else None

    def message(self) -> str:
        count = len(self.seconds)
        if count == 1:
            text = f"the event loop was blocked for {self.worst_ms:.0f} ms"
        else:
            text = (
                f"the event loop was blocked {count} times, worst {self.worst_ms:.0f} ms, "
                f"total {self.total_ms:.0f} ms"
            )
        if not self.sampled:
            text += f" during {self.function} (no stack sample: too short, or the GIL was held)"
            return text
        text += f" in {self.function}"
        call, innermost = self.top(self.calls), self.top(self.innermost)
        details = []
        if call and call != innermost:
            details.append(f"call: {call}")
        if innermost:
            details.append(f"innermost: {innermost}")
        if not self.project:
            details.append("no project frame")
        return f"{text} ({'; '.join(details)})" if details else text

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {CODE} {self.message()} (hint: {HINT})"

    def as_json(self) -> Dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "function": self.function,
            "call": self.top(self.calls),
            "innermost": self.top(self.innermost),
            "project": self.project,
            "count": len(self.seconds),
            "worst_ms": round(self.worst_ms, 1),
            "total_ms": round(self.total_ms, 1),
            "tests": self.tests,
            "sampled": self.sampled,
            "callee": self.top(self.callees) or None,
            "chain": [list(link) for link in self.top(self.chains) or ()],
        }


class _Classifier:
    """Which files are project code: under the rootdir, not a library, not the stdlib."""

    def __init__(self, rootdir: str) -> None:
        norm = lambda p: os.path.normcase(os.path.abspath(p))  # noqa: E731
        self.root = norm(rootdir)
        import sysconfig

        excluded = set()
        paths = sysconfig.get_paths()
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            path = paths.get(key)
            if path:
                excluded.add(norm(path))
        # A virtualenv inside the project (./.venv) is not project code either.
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
            if prefix and norm(prefix).startswith(self.root + os.sep):
                excluded.add(norm(prefix))
        self.excluded = tuple(sorted(p + os.sep for p in excluded))
        self.cache: Dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self.cache.get(filename)
        if known is None:
            known = self.cache[filename] = self._classify(filename)
        return known

    def _classify(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.normcase(os.path.abspath(filename))
        if path == _SELF or not path.startswith(self.root + os.sep):
            return False
        if path.startswith(self.excluded):
            return False
        parts = set(path.split(os.sep))
        return not parts & {"site-packages", "dist-packages"}


class LoopProbe:
    """Watches running asyncio loops from a watchdog thread; collects the stalls it sees."""

    def __init__(
        self, rootdir: str, threshold: float, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.threshold = threshold
        self.clock = clock
        self.interval = _clamp(threshold / 5, 0.001, 0.010)  # heartbeat period
        # The watchdog wakes every `poll` while loops run, and parks after `park_after` polls
        # with none (collection, sync tests): waking it costs a GIL hand-over, so a loop run
        # wakes it only from the park. It samples a loop whose beat is `arm_at` late, then every
        # `sample_every` until the beat runs: a stall just over the threshold is sampled.
        self.poll = _clamp(threshold / 2, 0.002, 0.050)
        self.park_after = 8
        self.arm_at = threshold / 2
        self.sample_every = _clamp(threshold / 10, 0.001, 0.005)
        self.is_project = _Classifier(rootdir)
        self.stalls: List[Stall] = []
        self.errors: List[str] = []
        self.current_test: Optional[str] = None
        self.loop_runs = 0
        self._armed = f"_asyncfix_probe_armed_{id(self)}"  # on a loop: our heartbeat is pending
        self._threads: Dict[int, _Watched] = {}  # thread id -> its _Watched
        self._watched: Dict[int, _Watched] = {}  # the same, for loops running since last round
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._parked = False
        self._active = False
        self._thread: Optional[threading.Thread] = None
        self._original: Any = None
        self._get_running_loop: Callable[[], Any] = lambda: None
        self._wrapper: Any = None

    # installation

    def start(self) -> None:
        import asyncio

        original = asyncio.BaseEventLoop.run_forever
        probe = self
        self._get_running_loop = asyncio.events._get_running_loop

        @functools.wraps(original)
        def run_forever(loop: asyncio.BaseEventLoop) -> None:
            if (
                not probe._active
                or loop.is_closed()
                or loop.is_running()
                or asyncio.events._get_running_loop() is not None  # it will refuse to run
            ):
                return original(loop)
            watched = probe._enter(loop)
            try:
                return original(loop)
            finally:
                probe._exit(watched)

        setattr(run_forever, _MARK, original)
        self._original, self._wrapper = original, run_forever
        self._active = True
        asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign,assignment]
        self._thread = threading.Thread(
            target=self._watchdog, name="asyncfix-probe-watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for watched in list(self._watched.values()):
            self._collect(watched)
        import asyncio

        if asyncio.BaseEventLoop.run_forever is self._wrapper:
            asyncio.BaseEventLoop.run_forever = self._original  # type: ignore[method-assign]

    # loop side (runs in each loop's thread)

    def _enter(self, loop: asyncio.AbstractEventLoop) -> _Watched:
        thread_id = threading.get_ident()
        watched = self._threads.get(thread_id)
        if watched is None:
            watched = self._threads[thread_id] = _Watched(thread_id)
        # The first beat is a period away: a run shorter than that (many a run_until_complete
        # in tests) never runs it. A timer left pending by the loop's previous run counts too:
        # it stays on the loop between runs (closing the loop drops it).
        watched.due = self.clock() + self.interval
        if not loop.__dict__.get(self._armed):
            loop.call_later(self.interval, self._beat)
            setattr(loop, self._armed, True)
        watched.running = True
        self._watched[thread_id] = watched
        if self._parked:  # read after the insertion: the watchdog parks in the opposite order
            self._wake.set()
        self.loop_runs += 1  # approximate if loops start in several threads at once
        return watched

    def _beat(self) -> None:
        """The heartbeat: runs on the loop every `interval` while the loop can run callbacks."""
        loop = self._get_running_loop()
        watched = self._threads.get(threading.get_ident())
        if loop is None:
            return
        if not self._active or watched is None or not watched.running:
            loop.__dict__.pop(self._armed, None)
            return
        now = self.clock()
        late = now - watched.due
        if late >= self.threshold:
            watched.ended.append((watched.due, late, self.current_test))
        watched.due = now + self.interval  # after `ended`: the watchdog relies on the order
        loop.call_later(self.interval, self._beat)

    def _exit(self, watched: _Watched) -> None:
        late = self.clock() - watched.due
        if late >= self.threshold:  # the loop stopped right after a blocking callback
            watched.ended.append((watched.due, late, self.current_test))
        watched.running = False

    # watchdog side

    def _collect(self, watched: _Watched) -> None:
        """Record the stalls whose beat has run (watchdog thread, or after it stopped)."""
        due = watched.due
        while watched.ended:
            start, late, test = watched.ended.popleft()
            samples: List[Sample] = []
            if watched.episode == start:
                samples, watched.episode, watched.samples = watched.samples, None, []
            self.stalls.append(Stall(late, samples, test))
        if watched.episode is not None and watched.episode != due and not watched.ended:
            watched.episode, watched.samples = None, []  # overdue, but under the threshold

    def _watchdog(self) -> None:
        sampling, idle = False, 0
        while not self._stopping.wait(self.sample_every if sampling else self.poll):
            try:
                sampling = self._round()
            except Exception as error:  # pragma: no cover - a bug here must not end the watch
                self.errors.append(f"{type(error).__name__}: {error}")
                sampling = False
            idle = 0 if self._watched else idle + 1
            if idle >= self.park_after:
                self._parked = True
                if not self._watched:  # read after `_parked` is set (see _enter)
                    self._wake.wait()
                self._wake.clear()
                self._parked, idle = False, 0

    def _round(self) -> bool:
        now = self.clock()
        frames: Optional[Dict[int, Any]] = None
        sampling = False
        for key, watched in list(self._watched.items()):
            if not watched.running:  # read first: `ended` is complete once `running` is cleared
                self._collect(watched)
                del self._watched[key]
                if watched.running:  # it started again meanwhile
                    self._watched[key] = watched
                continue
            self._collect(watched)
            due = watched.due
            if now - due < self.arm_at:
                continue
            sampling = True
            if frames is None:
                frames = sys._current_frames()
            frame = frames.get(watched.thread_id)
            if frame is None:
                continue
            sample = self._describe(frame)
            if watched.due != due:  # the beat ran meanwhile: the frame is not the stall's
                continue
            if watched.episode != due:
                watched.episode, watched.samples = due, []
            watched.samples.append(sample)
        frames = None  # hold no other thread's frames
        return sampling

    def _describe(self, frame: Any) -> Sample:
        """The innermost project frame, the innermost frame, the library frame the project
        called, and every project frame (outermost first); no I/O, so no GIL release."""
        innermost = _site(frame)
        current, inner = frame, None
        project: Optional[Site] = None
        entry: Optional[Site] = None
        chain: List[Site] = []
        while current is not None:
            if self.is_project(current.f_code.co_filename):
                site = _site(current)
                if project is None:
                    project = site
                    if inner is not None:
                        entry = _site(inner)
                chain.append(site)
            inner, current = current, current.f_back
        chain.reverse()
        return (project, innermost, entry, tuple(chain))

    # report

    def groups(self, rootdir: str, locations: Dict[str, Tuple[str, int, str]]) -> List[Group]:
        """The stalls grouped by location, in path and line order.

        A stall is attributed to the line seen in most of its samples (the innermost project
        frame, else the innermost frame). When one stall spans several blocking lines (calls that
        ran back to back with no await that suspends between them), each other line whose share
        of the samples stands for at least the threshold is reported too, with that share of the
        duration; the line seen most gets the rest. ``locations`` maps a test nodeid to its
        (path, 1-based line, name): a stall with no sample is placed on the test that was running.
        """
        groups: Dict[Tuple[str, int, str], Group] = {}

        def group_for(key: Tuple[str, int, str], column: int, **kwargs: Any) -> Group:
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key[0], key[1], column, key[2], **kwargs)
            return group

        for stall in self.stalls:
            by_line: Dict[Tuple[str, int, str], List[Sample]] = {}
            for sample in stall.samples:
                site = sample[0] or sample[1]
                by_line.setdefault((site[0].co_filename, site[2], _qualname(site[0])), []).append(
                    sample
                )
            if not by_line:
                path, line, name = locations.get(stall.test or "", ("<unknown>", 0, "the session"))
                group = group_for((path, line, name), 0, project=True, sampled=False)
                group.seconds.append(stall.seconds)
                if stall.test and stall.test not in group.tests:
                    group.tests.append(stall.test)
                continue
            ranked = sorted(by_line.items(), key=lambda item: -len(item[1]))
            shares = [stall.seconds * len(samples) / len(stall.samples) for _, samples in ranked]
            kept = [rank for rank, share in enumerate(shares) if rank and share >= self.threshold]
            shares[0] = stall.seconds - sum(shares[rank] for rank in kept)  # the rest: the top line
            for rank, ((filename, _line, function), samples) in enumerate(ranked):
                if rank and rank not in kept:
                    continue
                seconds = shares[rank]
                sites = Counter(sample[0] or sample[1] for sample in samples)
                site = sites.most_common(1)[0][0]
                line, column, _call = _position(site)
                key = (_display(filename, rootdir), line, function)
                group = group_for(key, column, project=samples[0][0] is not None)
                group.seconds.append(seconds)
                for site_seen, count in sites.items():
                    call = _position(site_seen)[2]
                    if call:
                        group.calls[call] += count
                for project, innermost, entry, chain in samples:
                    group.innermost[self._innermost(innermost)] += 1
                    if project is not None:
                        try:  # reads source lines and module globals: never lose the report
                            group.callees[self._callee(project, entry)] += 1
                            group.chains[tuple(_link(s, rootdir) for s in chain)] += 1
                        except Exception as error:  # pragma: no cover - a bug, reported
                            self.errors.append(f"{type(error).__name__}: {error}")
                if stall.test and stall.test not in group.tests:
                    group.tests.append(stall.test)
        return [groups[key] for key in sorted(groups)]

    def _callee(self, project: Site, entry: Optional[Site]) -> str:
        """The qualified name of what the innermost project frame called: the library function
        whose frame is next (``vendor.client.fetch``), or for a call into C code the call on the
        line, resolved through the module's globals (``fastlib.block``); "" if neither."""
        call = _position(project)[2]
        if not call:
            return ""
        if entry is None:
            return _qualify(call, project[3])
        # Only the function the line's call names (``fetch`` for ``vendor.fetch()``, a class's
        # ``__init__`` for ``vendor.Client()``): a frame further in (Python code that C code the
        # line called calls back: an enum a compiled validator builds) is not what the line did.
        code, _lasti, _line, module = entry
        qualname = _qualname(code)
        if not module or call.rpartition(".")[2] not in qualname.split("."):
            return ""
        return f"{module}.{qualname}"

    def _innermost(self, site: Site) -> str:
        """What the innermost frame was doing: the call on a project line, else the function."""
        code, _lasti, _line, module = site
        if not self.is_project(code.co_filename):
            return f"{module}.{_qualname(code)}" if module else _qualname(code)
        return _position(site)[2] or f"Python code in {_qualname(code)}"


def _link(site: Site, rootdir: str) -> Tuple[str, int, str]:
    return (_display(site[0].co_filename, rootdir), site[2], _qualname(site[0]))


def _qualify(call: str, module_name: str) -> str:
    """``fastlib.block`` (the call's text) in module ``app.api`` -> the qualified name of the
    object it names: a module's ``__name__`` plus the rest, or a function's or class's
    ``__module__`` and ``__qualname__``. "" when the name cannot be followed (locals, calls)."""
    if not call or "(" in call or "[" in call or not module_name:
        return ""
    module = sys.modules.get(module_name)
    head, *rest = call.split(".")
    value = getattr(module, "__dict__", {}).get(head) if module is not None else None
    if value is None:
        import builtins

        value = getattr(builtins, head, None)
        if value is None:
            return ""
    try:  # any object: a proxy's attributes may raise anything
        if isinstance(value, type(sys)):
            return ".".join([value.__name__, *rest])
        owner = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", None)
    except Exception:
        return ""
    if isinstance(owner, str) and isinstance(qualname, str):
        return ".".join([owner, qualname, *rest])
    return ""


def _site(frame: Any) -> Site:
    # f_lineno is None on an instruction with no line (Python 3.11+): the def's line stands in
    line = frame.f_lineno or frame.f_code.co_firstlineno
    return (frame.f_code, frame.f_lasti, line, frame.f_globals.get("__name__") or "")


def _qualname(code: Any) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _display(filename: str, rootdir: str) -> str:
    path = os.path.abspath(filename)
    try:
        relative = os.path.relpath(path, rootdir)
    except ValueError:  # another drive
        return path
    if relative.startswith(os.pardir):
        return path
    return relative.replace(os.sep, "/")


_POSITIONS: Dict[Any, List[Tuple[Optional[int], ...]]] = {}
_RESOLVED: Dict[Tuple[Any, int, int], Tuple[int, int, Optional[str]]] = {}


def _position(site: Site) -> Tuple[int, int, Optional[str]]:
    """(line, 1-based column, the called function's name or None) of a frame's instruction."""
    code, lasti, lineno, _module = site
    key = (code, lasti, lineno)
    resolved = _RESOLVED.get(key)
    if resolved is None:
        resolved = _RESOLVED[key] = _resolve(code, lasti, lineno)
    return resolved


def _resolve(code: Any, lasti: int, lineno: int) -> Tuple[int, int, Optional[str]]:
    lines = linecache.getlines(code.co_filename)
    positions = None
    if hasattr(code, "co_positions") and lasti >= 0:  # Python 3.11+: exact column ranges
        positions = _POSITIONS.get(code)
        if positions is None:
            positions = _POSITIONS[code] = list(code.co_positions())
    if positions is not None and lasti // 2 < len(positions):
        start, end, col, end_col = positions[lasti // 2]
        if start and end and col is not None and end_col is not None and start <= len(lines):
            segment = _segment(lines, start, end, col, end_col)
            return start, _char_column(lines[start - 1], col) + 1, _callee_of(segment)
    # Older Pythons: the line's indentation and its outermost call.
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    column = len(line) - len(line.lstrip()) + 1
    return lineno, column, _callee_of(line.strip())


def _segment(lines: Sequence[str], start: int, end: int, col: int, end_col: int) -> str:
    """Source between two (line, UTF-8 byte offset) positions."""
    chunk = [line.encode("utf-8") for line in lines[start - 1 : end]]
    if not chunk:
        return ""
    if len(chunk) == 1:
        return chunk[0][col:end_col].decode("utf-8", "replace")
    chunk[0], chunk[-1] = chunk[0][col:], chunk[-1][:end_col]
    return b"".join(chunk).decode("utf-8", "replace")


def _char_column(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def _callee_of(source: str) -> Optional[str]:
    """``time.sleep`` for ``time.sleep(0.2)``; None if the source is not a call."""
    import ast

    source = source.strip()
    if not source:
        return None
    tree = None
    for text in (source, f"({source})", source.rstrip(":")):
        try:
            tree = ast.parse(text)
            break
        except SyntaxError:
            continue
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            return _name_of(node.func)
    return None


def _name_of(node: ast.AST) -> str:
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name_of(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_name_of(node.func)}(...)"
    if isinstance(node, ast.Subscript):
        return f"{_name_of(node.value)}[...]"
    return "(...)"


# -- the pytest side -------------------------------------------------------------------------


class ProbePlugin:
    """Registered when the probe is asked for: runs the probe, reports at the end."""

    def __init__(self, config: Any, threshold: float, json_path: Optional[str]) -> None:
        self.config = config
        self.rootdir = str(config.rootpath)
        self.json_path = json_path
        self.probe = LoopProbe(self.rootdir, threshold)
        self.locations: Dict[str, Tuple[str, int, str]] = {}
        self.result: Optional[List[Group]] = None

    def start(self) -> None:
        self.probe.start()

    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> None:
        path, line, name = item.location
        self.locations[item.nodeid] = (path.replace(os.sep, "/"), (line or 0) + 1, name)
        self.probe.current_test = item.nodeid

    def pytest_sessionfinish(self, session: Any) -> None:
        self.finish()

    def finish(self) -> List[Group]:
        if self.result is None:
            self.probe.stop()
            try:
                self.result = self.probe.groups(self.rootdir, self.locations)
            except Exception as error:  # pragma: no cover - a bug: report it, keep the counts
                self.probe.errors.append(f"{type(error).__name__}: {error}")
                self.result = []
            if self.json_path:
                self._write_json(self.result)
        return self.result

    def _write_json(self, groups: List[Group]) -> None:
        import json

        assert self.json_path is not None
        seconds = [stall.seconds for stall in self.probe.stalls]
        document = {
            "code": CODE,
            "rootdir": self.rootdir,  # the stalls' paths are relative to it
            "threshold_ms": self.probe.threshold * 1000.0,
            "loop_runs": self.probe.loop_runs,
            "count": len(seconds),
            "worst_ms": round(max(seconds) * 1000.0, 1) if seconds else 0.0,
            "stalls": [group.as_json() for group in groups],
            "errors": self.probe.errors,
        }
        path = os.path.join(str(self.config.invocation_params.dir), self.json_path)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        groups = self.finish()
        probe = self.probe
        threshold = f"{probe.threshold * 1000.0:g} ms"
        terminalreporter.section("asyncfix loop probe")
        for group in groups:
            terminalreporter.write_line(group.format())
            if self.config.getoption("verbose") > 0 and group.tests:
                for test in group.tests:
                    terminalreporter.write_line(f"    during {test}")
        count = len(probe.stalls)
        runs = f"{probe.loop_runs} event loop run{'s' * (probe.loop_runs != 1)} watched"
        if count:
            worst = max(stall.seconds for stall in probe.stalls) * 1000.0
            places = f"{len(groups)} location{'s' * (len(groups) != 1)}"
            terminalreporter.write_line(
                f"asyncfix probe: {count} stall{'s' * (count != 1)} over {threshold} at "
                f"{places} (worst {worst:.0f} ms); {runs}"
            )
        else:
            terminalreporter.write_line(
                f"asyncfix probe: no event loop was blocked longer than {threshold}; {runs}"
            )
        for error in probe.errors[:3]:  # a bug in the watchdog: say so rather than look clean
            terminalreporter.write_line(f"asyncfix probe: internal error: {error}")

    def pytest_unconfigure(self, config: Any) -> None:
        self.probe.stop()
