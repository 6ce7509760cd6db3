"""offload_to_thread on single modules; whole apps with their suites and loop stalls are in
tests/test_blocking_chains.py."""

from __future__ import annotations

from conftest import rewrite

SELECT = {"select": ["await_coroutines", "offload_to_thread"], "fmt": False}

HELPER = """import asyncio
import subprocess


def run_sync(args):
    return subprocess.run(args, check=True)


async def run(args):
    await asyncio.sleep(0)
    result = run_sync(args)
    return result
"""


def test_a_blocking_helper_call_moves_to_a_thread():
    out, diagnostics = rewrite(HELPER, **SELECT)
    assert "    result = await asyncio.to_thread(run_sync, args)\n" in out
    assert diagnostics == []


def test_a_call_inside_a_larger_expression_is_reported_with_its_chain():
    source = HELPER.replace("result = run_sync(args)", "result = [run_sync(args)]")
    out, diagnostics = rewrite(source, **SELECT)
    assert out == source
    assert [d.code for d in diagnostics] == ["BLOCK001"]
    assert "run -> run_sync (t.py:6) -> subprocess.run [stdlib]" in diagnostics[0].message


def test_an_opt_out_comment_silences_the_report():
    source = HELPER.replace(
        "result = run_sync(args)",
        "result = [run_sync(args)]  # asyncfix: ignore[offload_to_thread]",
    )
    out, diagnostics = rewrite(source, **SELECT)
    assert out == source and diagnostics == []
