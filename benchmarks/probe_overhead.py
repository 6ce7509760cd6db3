"""What ``pytest --asyncfix-probe`` costs on a test suite that never blocks its loop.

Run: ``python benchmarks/probe_overhead.py [--rounds 7] [--tests 200]``. Writes a throwaway suite
to a temporary folder: a third of the tests run a few awaits on their own ``asyncio.run`` loop
(gathered tasks, a queue, a 1 ms sleep), most of the rest send two requests through
``httpx.ASGITransport`` to a FastAPI app whose routes only await, and a tenth go through
``fastapi.testclient.TestClient`` (a loop in a portal thread). Then runs it with and without
``--asyncfix-probe``, alternating, ``--rounds`` times each, in fresh ``python -m pytest``
processes, and prints the median of four measures per mode, the overhead of the probe (ratio of
the medians) and the median of the per-round overhead (each round runs both modes back to back,
so a change in the machine's load between rounds cancels out):

- ``session``: wall time from pytest_sessionstart to pytest_sessionfinish (the tests only);
- ``session cpu``: CPU time of the process, all threads (the watchdog too), over that span;
- ``process``: wall time of the whole pytest process (imports and collection included);
- ``cpu``: user + system CPU time of the process (the least sensitive to other load).

Then the same costs one at a time, in this process (CPU time, median of 7): a
``run_until_complete`` of an existing loop, an ``asyncio.run`` (a new loop, three runs of it),
and one loop iteration (``await asyncio.sleep(0)``), without and with the probe.

Every probed run must also report no stall (the suite never blocks: a report would be a false
positive); the script fails if one does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Dict, List

CONFTEST = textwrap.dedent("""\
    import os
    import time

    _START = []

    def pytest_sessionstart(session):
        _START.append((time.perf_counter(), time.process_time()))

    def pytest_sessionfinish(session):
        wall, cpu = _START[0]
        with open(os.environ["PROBE_BENCH_OUT"], "w") as handle:
            handle.write(f"{time.perf_counter() - wall} {time.process_time() - cpu}")
    """)

APP = textwrap.dedent("""\
    import asyncio

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/items/{item_id}")
    async def read_item(item_id: int):
        await asyncio.sleep(0)
        return {"id": item_id, "double": item_id * 2}


    @app.get("/wait")
    async def wait():
        await asyncio.sleep(0.001)
        return {"ok": True}
    """)

PURE = textwrap.dedent("""\
    import asyncio

    import pytest


    async def work(n):
        queue = asyncio.Queue()

        async def producer(i):
            for _ in range(3):
                await asyncio.sleep(0)
            await queue.put(i)

        await asyncio.gather(*(producer(i) for i in range(10)))
        total = sum([await queue.get() for _ in range(10)])
        await asyncio.sleep(0.001)
        return total + n


    @pytest.mark.parametrize("n", range({count}))
    def test_awaits(n):
        assert asyncio.run(work(n)) == 45 + n
    """)

ASGI = textwrap.dedent("""\
    import asyncio

    import httpx
    import pytest

    from app import app


    @pytest.mark.parametrize("n", range({count}))
    def test_asgi(n):
        async def main():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                item, wait = await asyncio.gather(client.get(f"/items/{{n}}"), client.get("/wait"))
            return item.json(), wait.status_code

        assert asyncio.run(main()) == ({{"id": n, "double": 2 * n}}, 200)
    """)

TESTCLIENT = textwrap.dedent("""\
    import pytest
    from fastapi.testclient import TestClient

    from app import app


    @pytest.mark.parametrize("n", range({count}))
    def test_testclient(n):
        with TestClient(app) as client:
            assert client.get(f"/items/{{n}}").json() == {{"id": n, "double": 2 * n}}
            assert client.get("/wait").status_code == 200
    """)


def write_suite(folder: Path, tests: int) -> None:
    portal = max(1, tests // 10)
    pure = tests // 3
    asgi = tests - portal - pure
    files = {
        "conftest.py": CONFTEST,
        "app.py": APP,
        "test_pure.py": PURE.format(count=pure),
        "test_asgi.py": ASGI.format(count=asgi),
        "test_testclient.py": TESTCLIENT.format(count=portal),
    }
    for name, text in files.items():
        (folder / name).write_text(text)


def run_once(folder: Path, probe: bool) -> Dict[str, float]:
    out = folder / "session.txt"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore"]
    if probe:
        command += ["--asyncfix-probe", "--asyncfix-probe-json", str(folder / "probe.json")]
    env = {**os.environ, "PROBE_BENCH_OUT": str(out), "PYTHONDONTWRITEBYTECODE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"the benchmark suite failed:\n{result.stdout}\n{result.stderr}")
    if probe:
        report = json.loads((folder / "probe.json").read_text())
        if report["count"]:
            sys.exit(f"false positive: the probe reported stalls in a non-blocking suite: {report}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    session_wall, session_cpu = map(float, out.read_text().split())
    return {"session": session_wall, "session cpu": session_cpu, "process": wall, "cpu": cpu}


def micro() -> None:
    import asyncio

    from asyncfix.probe_loop import LoopProbe

    async def nothing() -> None:
        pass

    async def three() -> None:
        for _ in range(3):
            await asyncio.sleep(0)

    async def spin() -> None:
        for _ in range(20000):
            await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    cases = {
        "run_until_complete": (lambda: loop.run_until_complete(nothing()), 20000),
        "asyncio.run": (lambda: asyncio.run(three()), 2000),
        "loop iteration": (lambda: asyncio.run(spin()), 1),
    }
    scale = {"run_until_complete": 1, "asyncio.run": 1, "loop iteration": 20000}
    times: Dict[str, Dict[bool, List[float]]] = {name: {False: [], True: []} for name in cases}
    for _ in range(7):
        for probe_on in (False, True):
            probe = LoopProbe(tempfile.gettempdir(), 0.05) if probe_on else None
            if probe:
                probe.start()
            for name, (call, count) in cases.items():
                start = time.process_time()
                for _ in range(count):
                    call()
                times[name][probe_on].append((time.process_time() - start) / count / scale[name])
            if probe:
                probe.stop()
    loop.close()
    print(f"{'per':<19} {'without':>10} {'--asyncfix-probe':>18}")
    for name, by_mode in times.items():
        off, on = (statistics.median(by_mode[mode]) * 1e6 for mode in (False, True))
        print(f"{name:<19} {off:>8.2f}us {on:>16.2f}us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asyncfix-probe-bench-") as tmp:
        folder = Path(tmp)
        write_suite(folder, args.tests)
        run_once(folder, probe=False)  # warm-up: the OS file cache, bytecode of the libraries
        runs: Dict[bool, List[Dict[str, float]]] = {False: [], True: []}
        for round_ in range(args.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for probe in order:
                runs[probe].append(run_once(folder, probe))
    print(
        f"{args.tests} non-blocking tests, {args.rounds} rounds per mode; Python "
        f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"{'measure':<11} {'without':>10} {'--asyncfix-probe':>18} {'overhead':>9} {'paired':>8}")
    for measure in ("session", "session cpu", "process", "cpu"):
        off = statistics.median(run[measure] for run in runs[False])
        on = statistics.median(run[measure] for run in runs[True])
        paired = statistics.median(
            b[measure] / a[measure] - 1 for a, b in zip(runs[False], runs[True])
        )
        print(
            f"{measure:<11} {off:>9.3f}s {on:>17.3f}s {100 * (on - off) / off:>+8.1f}% "
            f"{100 * paired:>+7.1f}%"
        )
    micro()


if __name__ == "__main__":
    main()
