"""One run of ``--verify``'s command, and what it reports: the exit code, the output, for pytest
each test's result (from the JUnit XML file asyncfix asks pytest to write) and the loop probe's
JSON (stalls of the event loop, when the probe plugin can be loaded).

The run is the same before and after the rewrite; comparing the two is verify.py's business.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Dict, List, Optional

PROBE_PLUGIN = "asyncfix.pytest_probe"  # the loop probe (issue 18): stalls of the event loop
PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


def probe_arguments(json_path: str) -> List[str]:
    """The loop probe's pytest options, if the plugin is importable here ([] otherwise). It is
    loaded by its ``pytest11`` entry point once asyncfix is installed; ``-p`` loads it only where
    the entry point does not (pytest refuses one module registered under two names)."""
    try:
        if importlib.util.find_spec(PROBE_PLUGIN) is None:
            return []
    except (ImportError, ValueError):
        return []
    arguments = ["--asyncfix-probe", f"--asyncfix-probe-json={json_path}"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", PROBE_PLUGIN, *arguments]
    try:
        from importlib.metadata import entry_points

        found = entry_points()
        group = (
            found.select(group="pytest11")
            if hasattr(found, "select")
            else found.get("pytest11", [])
        )
        if any(ep.value.split(":")[0] == PROBE_PLUGIN for ep in group):
            return arguments
    except Exception:  # broken metadata: load it explicitly
        pass
    return ["-p", PROBE_PLUGIN, *arguments]


@dataclass
class TestResult:
    status: str  # PASSED, FAILED, ERROR or SKIPPED
    message: str = ""  # the first line of the error (or the skip reason)


@dataclass
class Run:
    """One run of the command."""

    returncode: Optional[int]  # None: it could not start or was killed at the time limit
    output: str
    seconds: float
    timed_out: bool = False
    error: str = ""  # why it could not start
    tests: Optional[Dict[str, TestResult]] = None  # pytest: test id -> result; None: no report
    probe: Optional[dict] = None  # the loop probe's JSON, when it ran

    @property
    def passed(self) -> List[str]:
        return [test for test, result in (self.tests or {}).items() if result.status == PASSED]

    def why_no_results(self) -> str:
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        return f"exited {self.returncode} without a test report"


def run_command(words: List[str], cwd: str, timeout: float, pytest: bool, probe: bool) -> Run:
    """Run the command once: output captured (to a file, so a grandchild keeping the pipe open
    cannot hang us), killed with its whole process group at the time limit or on Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="asyncfix-verify-") as scratch:
        report = os.path.join(scratch, "junit.xml")
        probe_json = os.path.join(scratch, "probe.json")
        argv = list(words)
        if pytest:
            argv.append(f"--junitxml={report}")
            if probe:
                argv += probe_arguments(probe_json)
        started = time.monotonic()
        with open(os.path.join(scratch, "output"), "w+b") as output:
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                reason = (
                    "command not found" if isinstance(error, FileNotFoundError) else error.strerror
                )
                return Run(None, "", 0.0, error=f"cannot run {words[0]!r}: {reason}")
            timed_out = False
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(process)
            except BaseException:
                _kill(process)
                raise
            seconds = time.monotonic() - started
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        run = Run(None if timed_out else process.returncode, text, seconds, timed_out=timed_out)
        if pytest and not timed_out and os.path.exists(report):
            try:
                run.tests = parse_junit(report, cwd)
            except (ElementTree.ParseError, OSError):
                run.tests = None
        if os.path.exists(probe_json):
            try:
                with open(probe_json, encoding="utf-8") as handle:
                    run.probe = json.load(handle)
            except (OSError, ValueError):
                run.probe = None
        return run


def _kill(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after a grace period."""
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, None)):
        try:
            if hasattr(os, "killpg"):
                os.killpg(process.pid, sig)
            else:  # pragma: no cover - Windows
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=grace)
            if sig == signal.SIGTERM:
                # the leader is gone; make sure nothing it started outlives it
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, AttributeError):
                    pass
            return
        except subprocess.TimeoutExpired:
            continue


def parse_junit(path: str, cwd: str) -> Dict[str, TestResult]:
    """pytest's JUnit XML as test id -> result. A test reported more than once (an error in
    its teardown after it passed) keeps its worst result."""
    rank = {PASSED: 0, SKIPPED: 1, FAILED: 2, ERROR: 3}
    tests: Dict[str, TestResult] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = _node_id(case.get("classname", ""), case.get("name", ""), cwd)
        result = TestResult(PASSED)
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": FAILED, "error": ERROR, "skipped": SKIPPED}[child.tag]
                result = TestResult(status, _first_line(child.get("message", ""), child.text or ""))
                if status != SKIPPED:
                    break
        earlier = tests.get(test)
        if earlier is None or rank[result.status] > rank[earlier.status]:
            tests[test] = result
    return tests


def _node_id(classname: str, name: str, cwd: str) -> str:
    """``tests.test_app`` + ``test_x`` -> ``tests/test_app.py::test_x`` (classes after the
    module: ``tests/test_app.py::TestApp::test_x``), as pytest names it, when the module file
    is found; ``classname::name`` otherwise. A collection error has no classname."""
    dotted = classname or name
    parts = dotted.split(".") if dotted else []
    for cut in range(len(parts), 0, -1):
        module = os.path.join(*parts[:cut]) + ".py"
        if os.path.isfile(os.path.join(cwd, module)):
            rest = parts[cut:] + ([name] if classname else [])
            return "::".join([module.replace(os.sep, "/"), *rest])
    return f"{classname}::{name}" if classname else name


def _first_line(message: str, text: str) -> str:
    """The error's first line: pytest's message (``AssertionError: assert 1 == 2``), or for a
    collection error, where the message is generic, the first ``E`` line of the traceback."""
    message = message.strip()
    if message and message not in ("collection failure",):
        return message.splitlines()[0].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("E "):
            return line[1:].strip()
    return lines[-1] if lines else message
