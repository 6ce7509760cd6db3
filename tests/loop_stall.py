"""Measure how long an app's event loop stalls while it serves concurrent requests.

A ticker on the loop sleeps 5 ms at a time and records the longest gap between its wake-ups
while N concurrent requests run through ``httpx.ASGITransport``. Run in a fresh subprocess (the
app's own modules, before or after a rewrite, imported from its folder). The number is only
ever compared with another measured in the same test run (no wall-clock thresholds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Sequence

_SCRIPT = textwrap.dedent("""
    import asyncio, json, sys, time
    sys.path.insert(0, sys.argv[1])
    import httpx
    from main import app

    async def main(paths, n):
        gaps = []
        stop = False
        async def ticker():
            last = time.perf_counter()
            while not stop:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get(paths[0])  # warm-up: imports, first connection
            task = asyncio.create_task(ticker())
            await asyncio.sleep(0.02)
            gaps.clear()
            responses = await asyncio.gather(*(client.get(p) for p in paths for _ in range(n)))
            stop = True
            await task
        return max(gaps), sorted({r.status_code for r in responses})

    gap, statuses = asyncio.run(main(sys.argv[2].split(","), int(sys.argv[3])))
    print(json.dumps({"max_gap": gap, "statuses": statuses}))
    """)


def measure_stall(app_dir: Path, paths: Sequence[str], n: int = 6) -> float:
    """The longest loop stall (seconds) while ``n`` concurrent GETs of each path run."""
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(app_dir), ",".join(paths), str(n)],
        capture_output=True,
        text=True,
        cwd=app_dir,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["statuses"] == [200], data
    return float(data["max_gap"])


def run_app_tests(app_dir: Path) -> subprocess.CompletedProcess:
    """The app's own pytest suite, in its folder."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(app_dir)],
        capture_output=True,
        text=True,
        cwd=app_dir,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
