"""``--verify CMD`` (verify.py): the project's own tests run before and after the rewrite; a test
that passed before and fails after undoes every write, byte for byte.

Each test builds a small project in a temporary directory (its own pyproject.toml, code and
tests) and runs the CLI in-process; CMD runs for real, in a subprocess, in the project root.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, Optional

import pytest
from asyncfix.cli import main
from asyncfix.verify import _loop_line, is_pytest
from asyncfix.verify_runs import _node_id, parse_junit
from click.testing import CliRunner

PYTHON = shlex.quote(sys.executable)
PYTEST = f"{PYTHON} -m pytest -q"
PROBE = importlib.util.find_spec("asyncfix.pytest_probe") is not None

APP = b"""import time


async def wait():
    time.sleep(0.01)
    return "done"
"""
CONVERTED = b"""import asyncio


async def wait():
    await asyncio.sleep(0.01)
    return "done"
"""
# Green before and after: the test only runs the coroutine.
GREEN_TEST = b"""import asyncio

import app


def test_wait():
    assert asyncio.run(app.wait()) == "done"
"""
# Green before, red after: sleep_to_asyncio drops `import time` from app, so `app.time` is gone.
PATCHING_TEST = b"""import asyncio

import app


def test_wait_patched(monkeypatch):
    monkeypatch.setattr(app.time, "sleep", lambda seconds: None)
    assert asyncio.run(app.wait()) == "done"


def test_unrelated():
    assert 1 + 1 == 2
"""


@pytest.fixture(autouse=True)
def _fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner pytest runs without the environment's plugins (hypothesis, anyio, ...: seconds
    of start-up each run); asyncfix then loads its loop probe with ``-p``."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def make_project(root: Path, files: Dict[str, bytes], config: str = "") -> Path:
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\n{config}', encoding="utf-8")
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def invoke(*args: str, input: Optional[str] = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def snapshot(root: Path, *names: str) -> Dict[str, tuple]:
    out = {}
    for name in names:
        info = (root / name).stat()
        out[name] = ((root / name).read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return out


def test_green_conversion_is_kept_with_the_summary_line(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP, "tests/test_app.py": GREEN_TEST})
    result = invoke("--apply", "--select", "sleep_to_asyncio", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == CONVERTED
    assert "verified: 1 passed before and after; 1 file kept" in result.stderr
    assert "---- output of" not in result.stderr  # output is shown only on failure


def test_a_broken_test_rolls_back_every_file_byte_for_byte(tmp_path: Path):
    crlf = APP.replace(b"\n", b"\r\n")
    latin1 = (
        b"# -*- coding: latin-1 -*-\nimport time\n\nNAME = 'caf\xe9'\n\n\n"
        b"async def pause():\n    time.sleep(0.01)\n    return NAME\n"
    )
    project = make_project(
        tmp_path,
        {
            "app.py": APP,
            "crlf_mod.py": crlf,
            "legacy.py": latin1,
            "tests/test_app.py": PATCHING_TEST,
        },
    )
    os.chmod(project / "app.py", 0o640)
    os.chmod(project / "crlf_mod.py", 0o755)
    past = time.time_ns() - 3600 * 10**9
    os.utime(project / "legacy.py", ns=(past, past))
    names = ("app.py", "crlf_mod.py", "legacy.py", "tests/test_app.py")
    before = snapshot(project, *names)

    result = invoke("--apply", "--verify", PYTEST, str(project))

    assert result.exit_code == 2
    for name in ("app.py", "crlf_mod.py", "legacy.py"):  # all three were really rewritten
        assert f"rewrote {project / name}" in result.stdout
    assert snapshot(project, *names) == before  # bytes, mode and modification time
    assert not list(project.rglob(".asyncfix-*.tmp"))
    assert "1 test passed before the rewrite and not after it:" in result.stderr
    assert (
        "  tests/test_app.py::test_wait_patched: AttributeError: module 'app' has no attribute 'time'"
        in result.stderr
    )
    assert "test_unrelated" not in result.stderr.split("---- output of")[0]
    assert "---- output of" in result.stderr  # the failing run's output is shown
    assert "verify: rolled back: 3 files restored byte for byte" in result.stderr
    assert "verified" not in result.stderr


def test_only_tests_that_passed_before_count(tmp_path: Path):
    tests = GREEN_TEST + b"""

def test_already_broken():
    assert app.wait.__name__ == "nope"


def test_already_broken_and_patching(monkeypatch):
    monkeypatch.setattr(app.time, "sleep", lambda seconds: None)
    assert False, "was never green"
"""
    project = make_project(tmp_path, {"app.py": APP, "tests/test_app.py": tests})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == CONVERTED  # kept
    assert (
        "verify: the baseline already fails: 2 tests; only the 1 that pass count" in result.stderr
    )
    assert "  tests/test_app.py::test_already_broken: AssertionError" in result.stderr
    assert (
        "verified: 1 passed before and after (2 failing before, not counted); 1 file kept"
        in result.stderr
    )


def test_a_test_fixed_by_the_rewrite_is_mentioned(tmp_path: Path):
    tests = GREEN_TEST + b"""

def test_no_time_module():
    assert not hasattr(app, "time")
"""
    project = make_project(tmp_path, {"app.py": APP, "tests/test_app.py": tests})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert "(1 failing before, not counted; 1 of them pass now)" in result.stderr


def test_collection_error_after_the_rewrite_names_the_tests_that_no_longer_run(tmp_path: Path):
    tests = b"from app import time as clock\n\n\ndef test_clock():\n    assert clock.sleep\n"
    project = make_project(tmp_path, {"app.py": APP, "tests/test_app.py": tests})
    before = snapshot(project, "app.py")
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 2
    assert snapshot(project, "app.py") == before
    assert "tests/test_app.py::test_clock: did not run after the rewrite" in result.stderr
    assert "ImportError" in result.stderr


CHECK_BLOCKS = b"""import sys, time
source = open("app.py").read()
if "asyncio" in source:
    time.sleep(60)
"""


def test_baseline_timeout_writes_nothing_and_kills_the_process_group(tmp_path: Path):
    # CMD starts a child that records its pid and sleeps; both must be gone after the time limit.
    sleep = 60  # how long the command would run: the limit (2 s) must end it well before
    check = f"""import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep({sleep})"])
open("child.pid", "w").write(str(child.pid))
time.sleep({sleep})
""".encode()
    project = make_project(tmp_path, {"app.py": APP, "check.py": check})
    started = time.monotonic()
    result = invoke(
        "--apply", "--verify", f"{PYTHON} check.py", "--verify-timeout", "2", str(project)
    )
    # Bounded by the command's own sleep, not by a wall-clock guess: a run that waited for the
    # command instead of stopping it at the limit takes at least `sleep` seconds.
    assert time.monotonic() - started < sleep
    assert result.exit_code == 2
    assert (project / "app.py").read_bytes() == APP  # nothing was written
    assert "rewrote" not in result.stdout
    assert "error: verify: the baseline" in result.stderr
    assert "timed out after 2 s; nothing was written" in result.stderr
    pid = int((project / "child.pid").read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        _reap(pid)
        time.sleep(0.1)
    else:
        pytest.fail("the command's child outlived the time limit")


def _reap(pid: int) -> None:
    try:  # the child is not ours, but if it were a zombie of ours, collect it
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def test_timeout_after_the_rewrite_restores_everything(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP, "check.py": CHECK_BLOCKS})
    before = snapshot(project, "app.py")
    result = invoke(
        "--apply", "--verify", f"{PYTHON} check.py", "--verify-timeout", "2", str(project)
    )
    assert result.exit_code == 2
    assert f"rewrote {project / 'app.py'}" in result.stdout  # it was written, then restored
    assert snapshot(project, "app.py") == before
    assert (
        "exited 0 before the rewrite; on the rewritten tree it timed out after 2 s" in result.stderr
    )
    assert "verify: rolled back: 1 file restored byte for byte" in result.stderr


CHECK = b"""import sys
sys.path.insert(0, ".")
import app
sys.exit(0 if hasattr(app, "wait") else 3)
"""
CHECK_NEEDS_TIME = b"""import sys
sys.path.insert(0, ".")
import app
print("app.time is", getattr(app, "time", None))
sys.exit(0 if hasattr(app, "time") else 1)
"""


def test_other_commands_compare_exit_codes_kept(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP, "check.py": CHECK})
    result = invoke("--apply", "--verify", f"{PYTHON} check.py", str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == CONVERTED
    assert f"verified: `{PYTHON} check.py` exited 0 before and after; 1 file kept" in result.stderr


def test_other_commands_compare_exit_codes_rolled_back(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP, "check.py": CHECK_NEEDS_TIME})
    result = invoke("--apply", "--verify", f"{PYTHON} check.py", str(project))
    assert result.exit_code == 2
    assert (project / "app.py").read_bytes() == APP
    assert "exited 0 before the rewrite; on the rewritten tree it exited 1" in result.stderr
    assert "app.time is None" in result.stderr  # the output, shown because it failed


def test_other_command_failing_in_the_baseline_is_reported_and_not_counted(tmp_path: Path):
    check = b"import sys\nsys.exit(4)\n"
    project = make_project(tmp_path, {"app.py": APP, "check.py": check})
    result = invoke("--apply", "--verify", f"{PYTHON} check.py", str(project))
    assert result.exit_code == 0
    assert (project / "app.py").read_bytes() == CONVERTED
    assert "the baseline already fails" in result.stderr and "exited 4" in result.stderr
    assert "not verified:" in result.stderr


def test_a_file_changed_during_the_run_is_not_restored_but_reported(tmp_path: Path):
    # The command itself edits app.py after the rewrite, then fails: that edit must survive.
    check = b"""import sys
text = open("app.py").read()
if "asyncio" in text:
    open("app.py", "a").write("# edited by hand\\n")
    sys.exit(1)
"""
    project = make_project(tmp_path, {"app.py": APP, "other.py": APP, "check.py": check})
    result = invoke("--apply", "--verify", f"{PYTHON} check.py", str(project))
    assert result.exit_code == 2
    assert (project / "app.py").read_bytes() == CONVERTED + b"# edited by hand\n"
    assert (project / "other.py").read_bytes() == APP  # restored
    assert "app.py: changed on disk since asyncfix wrote it; not restored" in result.stderr
    assert "1 file restored byte for byte, 1 file not restored" in result.stderr


def test_command_not_found_writes_nothing(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP})
    result = invoke("--apply", "--verify", "no-such-command-asyncfix --flag", str(project))
    assert result.exit_code == 2
    assert (project / "app.py").read_bytes() == APP
    assert (
        "cannot run 'no-such-command-asyncfix': command not found; nothing was written"
        in result.stderr
    )


def test_interactive_verifies_only_what_was_accepted(tmp_path: Path):
    project = make_project(
        tmp_path, {"a.py": APP, "b.py": APP, "check.py": b"import sys\nsys.exit(0)\n"}
    )
    result = invoke("-i", "--verify", f"{PYTHON} check.py", str(project), input="y\nn\n")
    assert result.exit_code == 0, result.stderr
    assert (project / "a.py").read_bytes() == CONVERTED
    assert (project / "b.py").read_bytes() == APP
    assert "verified:" in result.stderr and "; 1 file kept" in result.stderr


def test_nothing_written_runs_the_command_once(tmp_path: Path):
    check = b"open('runs', 'a').write('x')\n"
    project = make_project(tmp_path, {"app.py": CONVERTED, "check.py": check})
    result = invoke("--apply", "--verify", f"{PYTHON} check.py", str(project))
    assert result.exit_code == 0
    assert (project / "runs").read_text() == "x"
    assert "nothing was written; nothing to verify" in result.stderr


def test_config_keys(tmp_path: Path):
    config = f"\n[tool.asyncfix]\nverify = '{PYTHON} check.py'\nverify-timeout = 2\n"
    project = make_project(tmp_path, {"app.py": APP, "check.py": CHECK_BLOCKS}, config)
    # --dry-run / --check ignore a configured verify (nothing is written there)
    assert invoke("--check", str(project)).exit_code == 1
    result = invoke("--apply", str(project))
    assert result.exit_code == 2  # the configured command and its time limit ran
    assert "on the rewritten tree it timed out after 2 s" in result.stderr
    assert (project / "app.py").read_bytes() == APP
    # an empty --verify turns the configured one off
    result = invoke("--apply", "--verify", "", str(project))
    assert result.exit_code == 0 and "verify" not in result.stderr
    assert (project / "app.py").read_bytes() == CONVERTED


def test_bad_config_and_usage(tmp_path: Path):
    project = make_project(
        tmp_path, {"app.py": APP}, '\n[tool.asyncfix]\nverify-timeout = "soon"\n'
    )
    result = invoke("--apply", str(project))
    assert result.exit_code == 2 and "[tool.asyncfix] verify-timeout must be a" in result.stderr
    (tmp_path / "p2").mkdir()
    project2 = make_project(tmp_path / "p2", {"app.py": APP})
    for args in (("--check",), ("--dry-run",)):
        result = invoke(*args, "--verify", "pytest", str(project2))
        assert (
            result.exit_code == 2
            and "--verify works with --apply or --interactive" in result.stderr
        )
    result = invoke("--apply", "--verify", "pytest 'unbalanced", str(project2))
    assert result.exit_code == 2 and "No closing quotation" in result.stderr
    assert (project2 / "app.py").read_bytes() == APP


@pytest.mark.skipif(
    not PROBE, reason="the loop probe plugin (asyncfix.pytest_probe) is not importable"
)
def test_the_loop_probe_runs_in_both_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")  # the plugin's entry point loads it
    app = APP.replace(b"0.01", b"0.3")
    project = make_project(tmp_path, {"app.py": app, "tests/test_app.py": GREEN_TEST})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (
        "verified: 1 passed before and after; 1 file kept; loop blocked 1 time, worst "
        in result.stderr
    )
    assert result.stderr.rstrip().endswith("ms -> 0")


# -- pieces ----------------------------------------------------------------------------------


def test_which_commands_are_pytest():
    assert is_pytest(["pytest"]) and is_pytest(["python", "-m", "pytest", "-x"])
    assert (
        is_pytest(["py.test"])
        and is_pytest([".venv/bin/pytest"])
        and is_pytest(["uv", "run", "pytest"])
    )
    assert not is_pytest(["python", "check.py"]) and not is_pytest(["pytest-watch-not"])
    assert not is_pytest(["make", "test"])


def test_junit_ids_and_first_error_lines(tmp_path: Path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    report = tmp_path / "junit.xml"
    report.write_text(textwrap.dedent("""\
            <?xml version="1.0" encoding="utf-8"?>
            <testsuites><testsuite name="pytest">
              <testcase classname="tests.test_a" name="test_ok" time="0.1"/>
              <testcase classname="tests.test_a.TestX" name="test_m[1-2]" time="0.1">
                <failure message="assert 1 == 2&#10;second line">trace</failure></testcase>
              <testcase classname="tests.test_a" name="test_teardown" time="0.1"/>
              <testcase classname="tests.test_a" name="test_teardown" time="0.1">
                <error message="failed on teardown with &quot;OSError: x&quot;">E   OSError: x</error></testcase>
              <testcase classname="tests.test_a" name="test_skip"><skipped message="no db"/></testcase>
              <testcase classname="" name="tests.test_b" time="0.0">
                <error message="collection failure">tests/test_b.py:1: in &lt;module&gt;
            E   ImportError: cannot import name 'x'</error></testcase>
            </testsuite></testsuites>
            """))
    tests = parse_junit(str(report), str(tmp_path))
    assert {test: (r.status, r.message) for test, r in tests.items()} == {
        "tests/test_a.py::test_ok": ("passed", ""),
        "tests/test_a.py::TestX::test_m[1-2]": ("failed", "assert 1 == 2"),
        "tests/test_a.py::test_teardown": ("error", 'failed on teardown with "OSError: x"'),
        "tests/test_a.py::test_skip": ("skipped", "no db"),
        "tests.test_b": ("error", "ImportError: cannot import name 'x'"),
    }
    assert _node_id("pkg.mod", "test_x", str(tmp_path)) == "pkg.mod::test_x"


def test_loop_line():
    assert _loop_line({"count": 14, "worst_ms": 212.4}, {"count": 0, "worst_ms": 0}) == (
        "loop blocked 14 times, worst 212 ms -> 0"
    )
    assert _loop_line({"count": 2, "worst_ms": 80}, {"count": 1, "worst_ms": 51}) == (
        "loop blocked 2 times, worst 80 ms -> 1 time, worst 51 ms"
    )
    assert _loop_line(None, None) == ""  # the probe did not run
    # one run wrote no report (a crash in the probe, a test that killed it): said, not hidden
    assert _loop_line({"count": 2}, None) == "loop: no probe report from the second run"
    assert _loop_line(None, {"count": 0}) == "loop: no probe report from the baseline"


def test_a_pytest_project_without_tests_is_not_verified_but_kept(tmp_path: Path):
    project = make_project(tmp_path, {"app.py": APP})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert "not verified: no test passed before the rewrite; 1 file kept" in result.stderr


FAKE_PYTEST = b"""import sys
open("runs", "a").write("x")
args = sys.argv[1:]
if any(arg.startswith("--asyncfix-probe") for arg in args):
    print("pytest: error: unrecognized arguments: --asyncfix-probe")
    sys.exit(4)
report = [arg.split("=", 1)[1] for arg in args if arg.startswith("--junitxml=")][0]
with open(report, "w") as handle:
    handle.write('<testsuites><testsuite><testcase classname="t" name="test_x"/></testsuite></testsuites>')
"""


@pytest.mark.skipif(
    not PROBE, reason="the loop probe plugin (asyncfix.pytest_probe) is not importable"
)
def test_a_pytest_that_cannot_load_the_probe_runs_without_it(tmp_path: Path):
    # A pytest of another environment (no asyncfix installed there) rejects the probe's options:
    # the baseline is run again without them, and so is the second run.
    project = make_project(tmp_path, {"app.py": APP, "bin/pytest": FAKE_PYTEST})
    result = invoke("--apply", "--verify", f"{PYTHON} bin/pytest", str(project / "app.py"))
    assert result.exit_code == 0, result.stderr
    assert "verified: 1 passed before and after; 1 file kept" in result.stderr
    assert "loop blocked" not in result.stderr
    assert (project / "runs").read_text() == "xxx"
