"""``pytest --asyncfix-probe`` (pytest_probe.py): inner test suites run with pytester.

The inner suite is a FastAPI app with a blocking route (``time.sleep`` in an ``async def``), a
route that blocks inside a library function, and a non-blocking one (``await asyncio.sleep``),
driven concurrently through ``httpx.ASGITransport`` (the test's own loop) and through
``fastapi.testclient.TestClient`` (a loop in anyio's portal thread). The report must name the
blocking lines and never the non-blocking one.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
import warnings

import fastapi  # noqa: F401  imported once here, so the in-process inner runs share it
import httpx  # noqa: F401
import pytest

with warnings.catch_warnings():  # starlette's "use httpx2" notice, not this test's business
    warnings.filterwarnings("ignore", message=".*starlette.testclient")
    import fastapi.testclient  # noqa: F401

from asyncfix import probe_loop, probe_report, pytest_probe

pytest_plugins = ["pytester"]

APP = textwrap.dedent("""\
    import asyncio
    import threading
    import time

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/slow")
    async def slow():
        time.sleep(0.2)
        return {"route": "slow"}


    @app.get("/fast")
    async def fast():
        await asyncio.sleep(0.2)
        return {"route": "fast"}


    @app.get("/lib")
    async def lib():
        threading.Event().wait(0.2)
        return {"route": "lib"}
    """)

TESTS = textwrap.dedent("""\
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from fastapi.testclient import TestClient

    from app import app


    def test_asgi_transport():
        async def main():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                responses = await asyncio.gather(*(client.get(p) for p in PATHS))
            assert [r.json()["route"] for r in responses] == [p[1:] for p in PATHS]

        asyncio.run(main())


    def test_testclient_portal():
        with TestClient(app) as client, ThreadPoolExecutor(len(PATHS)) as pool:
            responses = list(pool.map(client.get, PATHS))
        assert [r.json()["route"] for r in responses] == [p[1:] for p in PATHS]
    """)


def line_of(source: str, text: str) -> int:
    [line] = [n for n, content in enumerate(source.splitlines(), 1) if text in content]
    return line


SLOW = line_of(APP, "time.sleep(0.2)")
FAST = line_of(APP, "await asyncio.sleep(0.2)")
LIB = line_of(APP, "threading.Event().wait(0.2)")


def make_suite(pytester: pytest.Pytester, paths: str) -> None:
    pytester.makepyfile(app=APP, test_app=f"PATHS = {paths}\n" + TESTS)


def probe_lines(output: str) -> list:
    return [line for line in output.splitlines() if " PROBE001 " in line]


def test_names_the_blocking_lines_and_not_the_awaiting_one(pytester: pytest.Pytester) -> None:
    make_suite(pytester, '["/slow", "/fast", "/lib", "/fast"]')
    result = pytester.runpytest("--asyncfix-probe", "--asyncfix-probe-json", "probe.json")
    result.assert_outcomes(passed=2)
    lines = probe_lines(result.stdout.str())

    [slow] = [line for line in lines if line.startswith(f"app.py:{SLOW}:")]
    assert re.match(
        rf"app\.py:{SLOW}:5: PROBE001 the event loop was blocked .*ms in slow "
        r"\(innermost: time\.sleep\) \(hint: ",
        slow,
    ), slow
    [lib] = [line for line in lines if line.startswith(f"app.py:{LIB}:")]
    assert " in lib (call: threading.Event(...).wait; innermost: threading." in lib, lib
    assert not [line for line in lines if f":{FAST}:" in line or " in fast " in line], lines
    result.stdout.fnmatch_lines(["*= asyncfix loop probe =*", "asyncfix probe: * stall*"])

    # Both loops were watched: the test's asyncio.run loop and TestClient's portal thread loop.
    report = json.loads((pytester.path / "probe.json").read_text())
    [group] = [g for g in report["stalls"] if g["line"] == SLOW]
    assert group["tests"] == [
        "test_app.py::test_asgi_transport",
        "test_app.py::test_testclient_portal",
    ]
    assert group["count"] >= 2 and group["worst_ms"] >= 150
    # What the line called, qualified (C code: through the module's globals; Python code: the
    # library frame), and the project frames down to it: what --verify feeds back (PROBE002).
    assert group["callee"] == "time.sleep"
    assert group["chain"][-1] == ["app.py", SLOW, "slow"]
    [lib_group] = [g for g in report["stalls"] if g["line"] == LIB]
    assert lib_group["callee"] == "threading.Event.wait"


def test_json_report(pytester: pytest.Pytester) -> None:
    make_suite(pytester, '["/slow", "/fast"]')
    # A subprocess, as a user runs it: the plugin comes from the installed entry point.
    (pytester.path / "out").mkdir()
    started = time.perf_counter()
    result = pytester.runpytest_subprocess("--asyncfix-probe-json", "out/probe.json", "-k", "asgi")
    run_ms = (time.perf_counter() - started) * 1000
    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "out" / "probe.json").read_text())
    assert set(report) >= {"stalls", "count", "worst_ms", "threshold_ms"}
    assert report["threshold_ms"] == 50.0
    # At least most of the 0.2 s sleep; at most the whole run it happened in (same-run bound).
    assert report["count"] == 1 and 150 <= report["worst_ms"] < run_ms
    [stall] = report["stalls"]
    assert {k: stall[k] for k in ("path", "line", "function", "innermost", "count")} == {
        "path": "app.py",
        "line": SLOW,
        "function": "slow",
        "innermost": "time.sleep",
        "count": 1,
    }
    assert stall["worst_ms"] == stall["total_ms"] == report["worst_ms"]
    assert stall["project"] is True and stall["tests"] == ["test_app.py::test_asgi_transport"]
    assert [link[2] for link in stall["chain"]] == ["test_asgi_transport", "slow"]
    assert stall["chain"][-1] == ["app.py", SLOW, "slow"] and stall["callee"] == "time.sleep"
    assert report["rootdir"] == str(pytester.path)


def test_threshold_option(pytester: pytest.Pytester) -> None:
    make_suite(pytester, '["/slow", "/fast"]')  # one 200 ms stall
    high = pytester.runpytest("--asyncfix-probe", "--asyncfix-probe-ms", "400", "-k", "asgi")
    high.assert_outcomes(passed=1)
    assert probe_lines(high.stdout.str()) == []
    high.stdout.fnmatch_lines(["asyncfix probe: no event loop was blocked longer than 400 ms; *"])

    low = pytester.runpytest("--asyncfix-probe", "--asyncfix-probe-ms", "100", "-k", "asgi")
    low.assert_outcomes(passed=1)
    assert [line.split(" PROBE001 ")[0] for line in probe_lines(low.stdout.str())] == [
        f"app.py:{SLOW}:5:"
    ]

    bad = pytester.runpytest("--asyncfix-probe", "--asyncfix-probe-ms", "0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--asyncfix-probe-ms must be positive*"])


CHECK_PATCHED = textwrap.dedent("""\
    import asyncio
    import threading

    def test_patched(request):
        patched = hasattr(asyncio.BaseEventLoop.run_forever, "__asyncfix_probe_original__")
        watchdog = any(t.name == "asyncfix-probe-watchdog" for t in threading.enumerate())
        expected = request.config.getoption("asyncfix_probe")
        assert patched is expected and watchdog is expected
    """)


def test_inactive_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CHECK_PATCHED)
    off = pytester.runpytest()
    off.assert_outcomes(passed=1)
    assert "PROBE001" not in off.stdout.str() and "asyncfix probe" not in off.stdout.str()
    on = pytester.runpytest("--asyncfix-probe")
    on.assert_outcomes(passed=1)
    on.stdout.fnmatch_lines(["asyncfix probe: no event loop was blocked longer than 50 ms; *"])
    # After the session the patch is gone again.
    assert not hasattr(__import__("asyncio").BaseEventLoop.run_forever, probe_loop._MARK)


STALL_AT_EXIT = textwrap.dedent("""\
    import asyncio
    import time

    def test_blocks_then_returns():
        async def main():
            await asyncio.sleep(0)
            # long enough that the watchdog thread gets a sample in even on a starved CPU (two
            # xdist workers under load once measured this sleep at 518 ms with no sample taken)
            time.sleep(0.6)

        asyncio.run(main())

    def test_idle_loop_is_not_blocked():
        async def main():
            await asyncio.sleep(0.3)  # idle in select: no stall

        asyncio.run(main())
    """)


def test_stall_in_the_test_itself_and_idle_loops(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_exit=STALL_AT_EXIT)
    result = pytester.runpytest("--asyncfix-probe")
    result.assert_outcomes(passed=2)
    line = line_of(STALL_AT_EXIT, "time.sleep(0.6)")
    assert [text.split(" (hint")[0] for text in probe_lines(result.stdout.str())] == [
        f"test_exit.py:{line}:9: PROBE001 the event loop was blocked for "
        + re.search(r"blocked for (\d+ ms)", result.stdout.str()).group(1)
        + " in test_blocks_then_returns.<locals>.main (innermost: time.sleep)"
    ]


def test_explanation_is_exposed() -> None:
    assert pytest_probe.CODE in pytest_probe.CODES
    assert "asyncio.to_thread" in pytest_probe.CODES[pytest_probe.CODE]


def test_a_frame_without_a_line_number_is_placed_on_its_def() -> None:
    # Python 3.11+ gives f_lineno None on some instructions; such a sample once made the report
    # fail (no JSON, no summary) on a real suite (overfast-api, 355 tests).
    from types import SimpleNamespace

    def sample() -> None:
        pass

    frame = SimpleNamespace(
        f_code=sample.__code__, f_lasti=-1, f_lineno=None, f_globals={"__name__": "mod"}
    )
    site = probe_report.site_of(frame)
    assert site[2] == sample.__code__.co_firstlineno
    line, _column, _call = probe_report._position(site)
    assert line == sample.__code__.co_firstlineno
