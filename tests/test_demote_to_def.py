"""demote_to_def on single modules; whole apps with their suites and loop stalls are in
tests/test_blocking_chains.py."""

from __future__ import annotations

from conftest import check_noop, rewrite

SELECT = {"select": ["await_coroutines", "demote_to_def", "offload_to_thread"], "fmt": False}

ROUTE = """from fastapi import FastAPI
import time

app = FastAPI()


def slow_report():
    time.sleep(1)
    return "r"


@app.get("/report")
async def report():
    return {"report": slow_report()}
"""


def test_a_route_that_never_awaits_and_blocks_through_a_helper_is_demoted():
    out, diagnostics = rewrite(ROUTE, **SELECT)
    assert out == ROUTE.replace("async def report():", "def report():")
    assert diagnostics == []


def test_a_route_called_by_project_code_stays_a_coroutine():
    source = ROUTE + "\n\nasync def caller():\n    return await report()\n"
    out, diagnostics = rewrite(source, **SELECT)
    assert out == source  # not demoted; the call sits in a dict, so it is reported instead
    assert [d.code for d in diagnostics] == ["BLOCK001"]


def test_a_route_that_blocks_nothing_is_left_alone():
    check_noop(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\nasync def root():\n"
        "    return {'ok': True}\n",
        **SELECT,
    )
