"""The loop probe's watch: which asyncio loops run, when one is blocked, and what its thread was
running meanwhile.

Every asyncio loop registers itself while it runs (``asyncio.BaseEventLoop.run_forever`` is
wrapped) and runs a heartbeat callback that records when its next beat is due. One watchdog
thread samples the stack of a loop whose beat is overdue until the beat runs again; the beat
measures how late it ran and records a stall over the threshold. What a stall's samples mean
(lines, calls, the report) is probe_report.py's business.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Tuple

from .probe_report import Sample, Site, StallReport, site_of

if TYPE_CHECKING:  # imported where used: an inactive plugin costs pytest no import
    import asyncio

_MARK = "__asyncfix_probe_original__"
# The probe's own files: its frames (the wrapped run_forever, the heartbeat) are never the
# project's, even when the project is asyncfix.
_SELF = frozenset(
    os.path.normcase(os.path.join(os.path.dirname(os.path.abspath(__file__)), name))
    for name in ("pytest_probe.py", "probe_loop.py", "probe_report.py")
)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


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
        if path in _SELF or not path.startswith(self.root + os.sep):
            return False
        if path.startswith(self.excluded):
            return False
        parts = set(path.split(os.sep))
        return not parts & {"site-packages", "dist-packages"}


class LoopProbe(StallReport):
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
        innermost = site_of(frame)
        current, inner = frame, None
        project: Optional[Site] = None
        entry: Optional[Site] = None
        chain: List[Site] = []
        while current is not None:
            if self.is_project(current.f_code.co_filename):
                site = site_of(current)
                if project is None:
                    project = site
                    if inner is not None:
                        entry = site_of(inner)
                chain.append(site)
            inner, current = current, current.f_back
        chain.reverse()
        return (project, innermost, entry, tuple(chain))
