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

This module is the pytest side (options, the plugin, the summary and JSON); the watch is
probe_loop.py, the attribution and the diagnostics probe_report.py.

Only the standard library is used, and asyncio, ast, json and sysconfig are imported only when
the probe runs: a plugin that is not asked for costs a pytest run almost nothing.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from .probe_loop import LoopProbe
from .probe_report import CODE, Group

DEFAULT_MS = 50.0
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
