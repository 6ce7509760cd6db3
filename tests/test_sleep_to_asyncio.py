"""sleep_to_asyncio: unit cases (rewrite and no-op) and the runtime claim, on a real app."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from asyncfix.cli import main
from click.testing import CliRunner
from conftest import check_noop, check_transformed, load_module

SELECT = {"select": ["sleep_to_asyncio"]}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import time\nasync def f():\n    time.sleep(1)\n",
            "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n",
            id="import-time",
        ),
        pytest.param(
            "import time as t\nasync def f():\n    t.sleep(1)\n",
            "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n",
            id="import-alias",
        ),
        pytest.param(
            "from time import sleep as snooze\nasync def f():\n    snooze(1)\n",
            "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n",
            id="from-import-alias",
        ),
        pytest.param(
            "import asyncio, time\nasync def f():\n    return time.sleep(1).real\n",
            "import asyncio\nasync def f():\n    return (await asyncio.sleep(1)).real\n",
            id="precedence-attribute",
        ),
        pytest.param(
            "import time\nasync def f():\n    return [time.sleep(x) for x in range(3)][0]\n",
            "import asyncio\n\nasync def f():\n    return [await asyncio.sleep(x) for x in range(3)][0]\n",
            id="list-comprehension",
        ),
        pytest.param(
            "import time\nasync def f():\n    async def g():\n        time.sleep(1)\n    def h(x=time.sleep(0)):\n        pass\n",
            "import asyncio\n\nasync def f():\n    async def g():\n        await asyncio.sleep(1)\n    def h(x=await asyncio.sleep(0)):\n        pass\n",
            id="nested-async-def-and-default-argument",
        ),
        pytest.param(
            "import time\nasync def f():\n    return (time.sleep(0) for _ in range(time.sleep(0) or 2))\n",
            "import asyncio\nimport time\n\nasync def f():\n    return (time.sleep(0) for _ in range(await asyncio.sleep(0) or 2))\n",
            id="genexp-first-iterable-runs-in-the-coroutine",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, fmt=False, **SELECT)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import time\ndef f():\n    time.sleep(1)\n", id="sync-def"),
        pytest.param("import time\nasync def f():\n    g = lambda: time.sleep(1)\n", id="lambda"),
        pytest.param(
            "import time\nasync def f():\n    def g():\n        time.sleep(1)\n", id="nested-def"
        ),
        pytest.param(
            "import time\nasync def f():\n    class C:\n        x = time.sleep(0)\n",
            id="class-body",
        ),
        pytest.param("async def f(self):\n    self.time.sleep(1)\n", id="attribute-of-object"),
        pytest.param(
            "import time\nasync def f(time):\n    time.sleep(1)\n", id="parameter-shadows"
        ),
        pytest.param("from gevent import sleep\nasync def f():\n    sleep(1)\n", id="other-sleep"),
        pytest.param("import time\ntime.sleep(1)\n", id="module-level"),
        pytest.param(
            "import time\nasync def f():\n    time.sleep(1)  # asyncfix: ignore\n", id="opt-out"
        ),
        pytest.param(
            "import time\nasync def f():\n    return [[time.sleep(0) for a in b] for b in c]\n",
            id="nested-comprehension",
        ),
    ],
)
def test_noop(source: str):
    check_noop(source, fmt=False, **SELECT)


def test_opt_out_names_other_codemod_does_not_silence():
    source = "import time\nasync def f():\n    time.sleep(1)  # asyncfix: ignore[other]\n"
    check_transformed(
        source,
        "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)  # asyncfix: ignore[other]\n",
        fmt=False,
        **SELECT,
    )


def test_reference_and_genexp_are_reported_with_locations():
    source = (
        "import time\n"
        "async def f(retry, xs):\n"
        "    retry(sleep=time.sleep)\n"
        "    return sum(time.sleep(0) or 1 for _ in xs)\n"
    )
    diagnostics = check_noop(source, fmt=False, **SELECT)
    assert [(d.line, d.column, d.code) for d in diagnostics] == [
        (3, 17, "ASYNC251"),
        (4, 16, "ASYNC251"),
    ]
    assert all(d.hint for d in diagnostics)


APP = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/wait")
async def wait():
    time.sleep(0.2)
    return {"msg": "done"}


@app.get("/sync")
def sync_wait():
    time.sleep(0.01)
    return {"msg": "sync"}
"""


async def _concurrent(app, route: str, n: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.get(route) for _ in range(n)))
        elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses)
    assert {r.json()["msg"] for r in responses} == {"done" if route == "/wait" else "sync"}
    return elapsed


def test_rewritten_app_answers_concurrent_requests_in_one_sleep(tmp_path: Path):
    """Before: N concurrent requests take N x 0.2 s (the loop is blocked). After: about as long
    as one request."""
    path = tmp_path / "sleepy_app.py"
    path.write_text(APP)
    n = 5
    before = asyncio.run(_concurrent(load_module(path, "sleepy_before").app, "/wait", n))
    assert before >= n * 0.2 * 0.95

    result = CliRunner().invoke(main, ["--apply", str(path)])
    assert result.exit_code == 0, result.output
    rewritten = path.read_text()
    assert "await asyncio.sleep(0.2)" in rewritten
    assert "    time.sleep(0.01)" in rewritten  # the sync route is left alone

    app = load_module(path, "sleepy_after").app
    after = asyncio.run(_concurrent(app, "/wait", n))
    # Compared with numbers measured in this run, not a wall-clock limit: N concurrent requests
    # take about as long as one (the sleeps overlap), far less than the N sleeps before.
    one = asyncio.run(_concurrent(app, "/wait", 1))
    assert after < before / 2, f"{n} requests: {before:.2f}s before, {after:.2f}s after the rewrite"
    assert after < one + (before - one) / 2, f"{n} requests: {after:.2f}s, one request: {one:.2f}s"
    asyncio.run(_concurrent(app, "/sync", 2))
    assert CliRunner().invoke(main, ["--check", str(path)]).exit_code == 0
