"""``--verify`` round 2 (issue 18, item 4): blocking the loop probe saw in project code that the
static analysis did not know about is reported (PROBE002, with its chain) and fed back as a
blocking fact; the second round is planned with it, verified again, and kept only if the suite
stays green.

The blocking goes through ``vendorlib``, a package outside the project root (on pytest's
``pythonpath``) that asyncfix's tables do not know: once as a Python function that sleeps, once
as a C function (``time.sleep``) under a name the tables lack. The inner pytest runs for real.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest
from asyncfix.cli import main
from asyncfix.probe_feedback import unknown_blocking, with_facts
from click.testing import CliRunner

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("asyncfix.pytest_probe") is None,
    reason="the loop probe plugin (asyncfix.pytest_probe) is not importable",
)
PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q"

VENDOR_PYTHON = b"""import time


def fetch():
    time.sleep(0.3)
    return "data"
"""
# A C function under a name no table knows: the project line calls into C directly.
VENDOR_C = b"""import time

fetch = time.sleep
"""
APP = b"""import vendorlib


def load():
    return vendorlib.fetch()


async def read():
    data = load()
    return data
"""
APP_C = APP.replace(b"vendorlib.fetch()", b"vendorlib.fetch(0.3)")
OFFLOADED = b"""import asyncio

import vendorlib


def load():
    return vendorlib.fetch()


async def read():
    data = await asyncio.to_thread(load)
    return data
"""
TEST = b"""import asyncio

import app


def test_read():
    assert asyncio.run(app.read()) in ("data", None)
"""
# Green before, red once `read` runs `load` in a thread: the test checks the thread it ran in.
THREAD_TEST = b"""import asyncio
import threading

import app


def test_read_on_the_main_thread(monkeypatch):
    seen = []
    real = app.load
    monkeypatch.setattr(app, "load", lambda: seen.append(threading.current_thread()) or real())
    asyncio.run(app.read())
    assert seen == [threading.main_thread()]
"""
PYPROJECT = """[project]
name = "demo"

[tool.pytest.ini_options]
pythonpath = [".", "../vendor"]
"""


@pytest.fixture(autouse=True)
def _fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # asyncfix adds `-p` for the probe


def make(tmp_path: Path, vendor: bytes, files: Dict[str, bytes]) -> Path:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "vendorlib.py").write_bytes(vendor)
    return _project(tmp_path, files)


def _project(tmp_path: Path, files: Dict[str, bytes]) -> Path:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for name, data in files.items():
        (project / name).write_bytes(data)
    return project


def loop_ms(stderr: str) -> Tuple[float, float]:
    """The worst stall before and after round 2, from its `verified:` line (`loop blocked 1 time,
    worst 290 ms -> 0`): compared with each other, never with a fixed time."""
    [line] = [x for x in stderr.splitlines() if x.startswith("verified:") and "round 2" in x]
    before, after = line.split("loop blocked ")[1].split(" -> ")

    def worst(text: str) -> float:
        return float(text.split("worst ")[1].split(" ms")[0]) if "worst" in text else 0.0

    return worst(before), worst(after)


def assert_stall_gone(stderr: str) -> None:
    before, after = loop_ms(stderr)
    assert before >= 250, stderr  # the 300 ms sleep, seen by the probe (it only grows under load)
    assert after < before / 2, stderr  # usually 0: nothing blocks the loop any more


def invoke(*args: str, input: Optional[str] = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_a_library_call_the_tables_do_not_know_is_offloaded_in_round_two(tmp_path: Path):
    project = make(tmp_path, VENDOR_PYTHON, {"app.py": APP, "tests/test_app.py": TEST})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr + result.stdout
    assert (project / "app.py").read_bytes() == OFFLOADED
    # round 1 knows nothing; the probe saw the stall; the diagnostic names the chain
    assert "verify: nothing was written; nothing to verify" in result.stderr
    line = next(x for x in result.stdout.splitlines() if " PROBE002 " in x)
    assert line.startswith(f"{project / 'app.py'}:5:") or line.startswith("app.py:5:"), line
    assert "blocking seen at runtime, not known statically" in line
    assert "test_read (tests/test_app.py:7) -> read (app.py:9) -> load (app.py:5)" in line
    assert "-> vendorlib.fetch [seen at run time]" in line
    assert (
        "verify: round 2: treating vendorlib.fetch as blocking (seen at run time)" in result.stderr
    )
    # verified against the tree round 1 left, and the loop stall is gone in the same run
    verified = next(x for x in result.stderr.splitlines() if x.startswith("verified:"))
    assert verified.startswith(
        "verified: 1 passed before and after round 2; 1 file kept; loop blocked 1 time, worst "
    )
    assert_stall_gone(result.stderr)
    # a machine-readable document holds the PROBE002 too, on the line it moved to
    (project / "app.py").write_bytes(APP)
    result = invoke("--apply", "--verify", PYTEST, "--output-format", "json", str(project))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    [probe002] = [d for d in document["diagnostics"] if d["code"] == "PROBE002"]
    assert probe002["line"] == OFFLOADED.splitlines().index(b"    return vendorlib.fetch()") + 1


def test_a_c_function_under_an_unknown_name_is_named_through_the_module(tmp_path: Path):
    project = make(tmp_path, VENDOR_C, {"app.py": APP_C, "tests/test_app.py": TEST})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr + result.stdout
    assert (project / "app.py").read_bytes() == OFFLOADED.replace(
        b"vendorlib.fetch()", b"vendorlib.fetch(0.3)"
    )
    assert "treating vendorlib.fetch as blocking" in result.stderr
    assert_stall_gone(result.stderr)


def test_a_reexported_function_is_named_as_the_project_imports_it(tmp_path: Path):
    # at run time the function is `vendorlib._impl.fetch`; the project (and asyncfix's resolver)
    # call it `vendorlib.fetch`: both names are fed, and the plan matches the second
    package = tmp_path / "vendor" / "vendorlib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_bytes(b"from ._impl import fetch\n")
    (package / "_impl.py").write_bytes(VENDOR_PYTHON)
    app = APP.replace(b"import vendorlib\n", b"from vendorlib import fetch\n").replace(
        b"vendorlib.fetch()", b"fetch()"
    )
    project = _project(tmp_path, {"app.py": app, "tests/test_app.py": TEST})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr + result.stdout
    assert b"data = await asyncio.to_thread(load)" in (project / "app.py").read_bytes()
    assert (
        "verify: round 2: treating vendorlib._impl.fetch, vendorlib.fetch as blocking"
        in result.stderr
    )
    assert "-> vendorlib._impl.fetch [seen at run time]" in result.stdout
    assert_stall_gone(result.stderr)


def test_python_code_that_c_code_calls_back_is_not_what_the_line_called(tmp_path: Path):
    # `sorted` (C) calls the vendor's key function: the frame next to the project line is
    # vendorlib.slow_key, but the line called `sorted`: nothing to feed (the vendor's function
    # may be what blocks, but offloading `sorted` is no fix a reviewer asked for), reported only
    vendor = VENDOR_PYTHON.replace(b"def fetch():", b"def slow_key(item):").replace(
        b'return "data"', b"return item"
    )
    app = APP.replace(b"vendorlib.fetch()", b"sorted([1], key=vendorlib.slow_key)")
    test = TEST.replace(b'("data", None)', b"([1],)")
    project = make(tmp_path, vendor, {"app.py": app, "tests/test_app.py": test})
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr + result.stdout
    assert (project / "app.py").read_bytes() == app
    [line] = [x for x in result.stdout.splitlines() if " PROBE002 " in x]
    # no callee: the innermost frame is shown as what ran, not as what the line called
    assert "-> load (app.py:5) -> vendorlib.slow_key (hint: no library call to name" in line, line
    assert "[seen at run time]" not in line
    assert "round 2" not in result.stderr


def test_round_two_that_breaks_a_test_is_rolled_back_and_round_one_stays(tmp_path: Path):
    # round 1 converts `time.sleep` in another module (known); round 2's offload breaks a test
    known = b"import time\n\n\nasync def pause():\n    time.sleep(0.01)\n"
    project = make(
        tmp_path,
        VENDOR_PYTHON,
        {"app.py": APP, "other.py": known, "tests/test_app.py": THREAD_TEST},
    )
    result = invoke("--apply", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr + result.stdout
    assert (project / "app.py").read_bytes() == APP  # round 2 undone, byte for byte
    assert b"await asyncio.sleep(0.01)" in (project / "other.py").read_bytes()  # round 1 kept
    assert "verified: 1 passed before and after; 1 file kept" in result.stderr
    assert "test_read_on_the_main_thread" in result.stderr
    assert "verify: rolled back: 1 file restored byte for byte" in result.stderr
    assert "verify: round 2 rolled back; the first round's rewrite stays" in result.stderr


def test_what_the_tables_know_is_not_fed_back():
    probe = {
        "stalls": [
            {
                "path": "app.py",
                "line": 3,
                "column": 5,
                "function": "f",
                "project": True,
                "callee": "time.sleep",
                "chain": [["app.py", 3, "f"]],
                "count": 1,
                "worst_ms": 90,
            },
            {
                "path": "app.py",
                "line": 8,
                "column": 5,
                "function": "g",
                "project": True,
                "callee": "vendor.fetch",
                "chain": [["app.py", 8, "g"]],
                "count": 2,
                "worst_ms": 60,
            },
            {
                "path": "app.py",
                "line": 12,
                "column": 5,
                "function": "h",
                "project": True,
                "callee": "",
                "chain": [["app.py", 12, "h"]],
                "count": 1,
                "worst_ms": 70,
            },
            {
                "path": "lib.py",
                "line": 1,
                "column": 1,
                "function": "x",
                "project": False,
                "callee": None,
                "chain": [],
                "count": 1,
                "worst_ms": 70,
            },
        ]
    }
    probe["stalls"] += [
        # the standard library beyond the tables' blocking I/O is CPU work: reported, not fed
        {
            "path": "app.py",
            "line": 20,
            "column": 5,
            "function": "k",
            "project": True,
            "callee": "json.dumps",
            "chain": [],
            "count": 1,
            "worst_ms": 70,
        },
        # never sampled: where it blocked is unknown (PROBE001 says so)
        {
            "path": "tests/test_app.py",
            "line": 3,
            "column": 0,
            "function": "test_x",
            "project": True,
            "sampled": False,
            "callee": None,
            "chain": [],
            "count": 1,
            "worst_ms": 300,
        },
    ]
    found = unknown_blocking(probe, {})
    assert [(item.line, item.facts) for item in found] == [
        (8, ("vendor.fetch",)),
        (12, ()),
        (20, ()),
    ]
    assert "`json.dumps` is not fed back" in found[2].diagnostic().hint
    # a name already declared is known too
    assert [item.line for item in unknown_blocking(probe, {"blocking": ["vendor.*"]})] == [12, 20]
    assert with_facts({"blocking": "a.b, c.d"}, ["vendor.fetch", "a.b"])["blocking"] == [
        "a.b",
        "c.d",
        "vendor.fetch",
    ]


# -- with --select, --migrate and the interactive mode -----------------------------------------


def test_select_without_the_blocking_plan_reports_and_has_no_round_two(tmp_path: Path):
    project = make(tmp_path, VENDOR_PYTHON, {"app.py": APP, "tests/test_app.py": TEST})
    result = invoke("--apply", "--select", "sleep_to_asyncio", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == APP
    assert " PROBE002 " in result.stdout
    assert (
        "verify: no round 2: demote_to_def and offload_to_thread are not selected" in result.stderr
    )
    # with the plan selected, round 2 runs with the same selection
    result = invoke("--apply", "--select", "offload_to_thread", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == OFFLOADED


def test_migrate_reaches_both_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from asyncfix.codemods import engine

    seen = []
    real = engine.run

    def spy(files, settings, *args):
        seen.append(dict(settings.options))
        return real(files, settings, *args)

    monkeypatch.setattr(engine, "run", spy)
    project = make(tmp_path, VENDOR_PYTHON, {"app.py": APP, "tests/test_app.py": TEST})
    result = invoke("--apply", "--migrate", "--verify", PYTEST, str(project))
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == OFFLOADED
    assert seen == [{"migrate": True}, {"migrate": True, "blocking": ["vendorlib.fetch"]}]


def test_interactive_round_two_asks_and_verifies_what_was_accepted(tmp_path: Path):
    project = make(tmp_path, VENDOR_PYTHON, {"app.py": APP, "tests/test_app.py": TEST})
    result = invoke("-i", "--verify", PYTEST, str(project), input="n\n")
    assert result.exit_code == 0, result.stderr
    assert "Apply this change to" in result.stdout  # round 2's diff was shown and declined
    assert (project / "app.py").read_bytes() == APP
    assert "verify: round 2: nothing was written; nothing to verify" in result.stderr
    result = invoke("-i", "--verify", PYTEST, str(project), input="y\n")
    assert result.exit_code == 0, result.stderr
    assert (project / "app.py").read_bytes() == OFFLOADED
    assert "verified: 1 passed before and after round 2; 1 file kept" in result.stderr


def test_merging_round_two_keeps_the_counts_right():
    from asyncfix.codemods.engine import CHANGED, UNCHANGED, FileResult
    from asyncfix.output import RunResults
    from asyncfix.probe_feedback import merge_round

    def result(name: str, status: str, **rewrites: int) -> FileResult:
        return FileResult(name, f"/p/{name}", status, rewrites=dict(rewrites))

    run = RunResults(
        "apply",
        [
            result("a.py", CHANGED, sleep_to_asyncio=1),  # changed in both rounds
            result("b.py", CHANGED, sleep_to_asyncio=1),  # declined in round 1, accepted in round 2
            result("c.py", CHANGED, sleep_to_asyncio=1),  # accepted in round 1, declined in round 2
            result("d.py", UNCHANGED),
        ],
        ["b.py"],
    )
    later = [
        result("a.py", CHANGED, offload_to_thread=1),
        result("b.py", CHANGED, offload_to_thread=1),
        result("c.py", CHANGED, offload_to_thread=1),
        result("d.py", UNCHANGED),
    ]
    merge_round(run, later, ["c.py"])
    assert run.skipped == []
    assert [r.rewrites for r in run.results] == [
        {"offload_to_thread": 1, "sleep_to_asyncio": 1},
        {"offload_to_thread": 1},
        {"sleep_to_asyncio": 1},
        {},
    ]
    assert run.counts()[CHANGED] == 3


def test_interactive_all_in_round_one_does_not_accept_round_two_unseen(tmp_path: Path):
    known = b"import time\n\n\nasync def pause():\n    time.sleep(0.01)\n"
    files = {"app.py": APP, "other.py": known, "tests/test_app.py": TEST}
    project = make(tmp_path, VENDOR_PYTHON, files)
    result = invoke("-i", "--verify", PYTEST, str(project), input="a\nn\n")
    assert result.exit_code == 0, result.stderr
    assert b"await asyncio.sleep(0.01)" in (project / "other.py").read_bytes()  # "a": round 1
    assert result.stdout.count("Apply this change to") == 2  # round 2 asked again
    assert (project / "app.py").read_bytes() == APP  # and was declined
