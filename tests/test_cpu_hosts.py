"""One process pool per app across its modules (codemods/cpu_hosts.py, issue 19): a two-module
app RUN with its lifespan, each module rewritten on its own (a pool per module) against the
whole project rewritten at once (the app's one pool), and the fallbacks (a cycle, an app wired
with on_event, a name taken, a module whose calls end up on the thread pool)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

from asyncfix.cli import main
from click.testing import CliRunner

from codemods.cpu_hosts import CYCLE_POOL, TAKEN_POOL, WIRED_POOL

GOLDEN = Path(__file__).resolve().parent.parent / "before_after" / "cpu_to_executor"


def _write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _apply(*paths: Path, extra: tuple = ()) -> None:
    result = CliRunner().invoke(
        main, ["--apply", "--no-cache", "--select", "cpu_to_executor", *extra, *map(str, paths)]
    )
    assert result.exit_code == 0, result.output


# Runs the app through its lifespan (TestClient as a context manager), then reports the answers,
# the process pools that exist, the worker processes alive while the app runs and after it stops.
RUN = """\
import gc, json, multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, sys.argv[1])
from fastapi.testclient import TestClient

import main

answers = []
with TestClient(main.app) as client:
    for n in (1, 2, 3):
        answers.append(client.get(f"/checksum/{n}").json())
        answers.append(client.get(f"/summary/{n}").json())
    pools = [o for o in gc.get_objects() if isinstance(o, ProcessPoolExecutor)]
    running = len(multiprocessing.active_children())
print(json.dumps({
    "answers": answers,
    "pools": len(pools),
    "running": running,
    "left": len(multiprocessing.active_children()),
}))
"""


def _run(root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(root)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _golden_project(root: Path) -> None:
    for path in (GOLDEN / "two_modules.before").glob("*.py"):
        (root / path.name).write_text(path.read_text())


def test_a_two_module_app_runs_on_one_pool_that_its_lifespan_shuts_down(tmp_path: Path):
    """Each module rewritten on its own (no view of the app: what asyncfix did per module
    before) gives two pools, and the helper module's outlives the app. The project rewritten
    as a whole gives one pool, held by the helper module, and the app's lifespan shuts it down:
    no worker process is left. The answers are the sync code's."""
    sync, per_module, shared = tmp_path / "sync", tmp_path / "per_module", tmp_path / "shared"
    for root in (sync, per_module, shared):
        root.mkdir()
        _golden_project(root)
    _apply(per_module / "reports.py")
    _apply(per_module / "main.py")
    _apply(shared)
    assert "def _cpu_bound_executor()" in (per_module / "reports.py").read_text()
    assert (
        "from reports import close_process_pool, process_pool" in (shared / "main.py").read_text()
    )

    expected, before, after = _run(sync), _run(per_module), _run(shared)
    assert before["answers"] == after["answers"] == expected["answers"]
    assert (expected["pools"], before["pools"], after["pools"]) == (0, 2, 1)
    assert 0 < after["running"] <= before["running"]
    assert before["left"] > 0  # the helper module's pool: nobody shuts it down
    assert after["left"] == 0  # the app's one pool, shut down by its lifespan


def test_the_rewritten_project_is_a_fixed_point_and_a_later_module_reuses_the_host(
    tmp_path: Path,
):
    _golden_project(tmp_path)
    _apply(tmp_path)
    first = {name: (tmp_path / name).read_text() for name in ("main.py", "reports.py")}
    _apply(tmp_path)
    assert {name: (tmp_path / name).read_text() for name in first} == first
    _write(
        tmp_path,
        {
            "charts.py": "from reports import histogram\n\n\n"
            "async def chart(seed: int) -> list:\n    return histogram(seed)\n",
            "main.py": first["main.py"].replace(
                "from reports import", "import charts\nfrom reports import"
            ),
        },
    )
    _apply(tmp_path)
    assert (tmp_path / "reports.py").read_text() == first["reports.py"]
    charts = (tmp_path / "charts.py").read_text()
    assert "from reports import histogram, process_pool\n" in charts
    assert "process_pool(), histogram, seed" in charts
    assert (tmp_path / "main.py").read_text().count("close_process_pool()") == 1


HEAVY = """\
def crunch(n: int) -> int:
    total = 0
    for i in range(1_000_000):
        total += i % (n + 1)
    return total
"""


def test_when_every_host_makes_an_import_cycle_each_module_keeps_its_own_pool(tmp_path: Path):
    call = HEAVY + "\n\nasync def {0}(n: int) -> int:\n    return crunch(n)\n"
    _write(
        tmp_path,
        {
            "a.py": "import b\n\n\n" + call.format("fa"),
            "b.py": "import a\n\n\n" + call.format("fb"),
            "app.py": "from fastapi import FastAPI\n\nimport a\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    for name in ("a.py", "b.py"):
        text = (tmp_path / name).read_text()
        assert CYCLE_POOL in text and "def _cpu_bound_executor()" in text
        assert "process_pool" not in text
    assert "process_pool" not in (tmp_path / "app.py").read_text()


def test_an_app_wired_with_on_event_gets_no_shared_pool_from_another_module(tmp_path: Path):
    _write(
        tmp_path,
        {
            "helper.py": HEAVY + "\n\nasync def work(n: int) -> int:\n    return crunch(n)\n",
            "app.py": "from fastapi import FastAPI\n\nimport helper\n\napp = FastAPI()\n\n\n"
            '@app.on_event("startup")\nasync def start():\n    pass\n',
        },
    )
    _apply(tmp_path)
    assert WIRED_POOL in (tmp_path / "helper.py").read_text()
    assert "process_pool" not in (tmp_path / "app.py").read_text()


def test_a_module_where_process_pool_is_taken_keeps_its_own_and_the_app_still_closes_the_host(
    tmp_path: Path,
):
    _write(
        tmp_path,
        {
            "helper.py": HEAVY + "\n\nasync def work(n: int) -> int:\n    return crunch(n)\n",
            "other.py": "import helper\n\nprocess_pool = None\n\n\n"
            + HEAVY
            + "\n\nasync def other(n: int) -> int:\n    return crunch(n)\n",
            "app.py": "from fastapi import FastAPI\n\nimport other\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    other = (tmp_path / "other.py").read_text()
    assert "process_pool = None" in other and TAKEN_POOL in other
    assert "_cpu_bound_executor(), crunch, n" in other
    assert "def process_pool() -> ProcessPoolExecutor:" in (tmp_path / "helper.py").read_text()
    assert "await close_process_pool()" in (tmp_path / "app.py").read_text()


def test_a_module_whose_calls_go_to_threads_imports_nothing(tmp_path: Path):
    """An argument that is not plain data sends the call to the thread pool (CPU002); the
    first pass sees it too (cpu_sites.py), so the module is no user and imports no pool."""
    _write(
        tmp_path,
        {
            "helper.py": HEAVY + "\n\nasync def work(n: int) -> int:\n    return crunch(n)\n",
            "loose.py": "import helper\n\n\n"
            + HEAVY
            + "\n\nasync def loose(thing) -> int:\n    return crunch(thing)\n",
            "app.py": "from fastapi import FastAPI\n\nimport loose\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    loose = (tmp_path / "loose.py").read_text()
    assert "await asyncio.to_thread(crunch, thing)" in loose
    assert "process_pool" not in loose and "ProcessPoolExecutor" not in loose
    assert "process_pool(), crunch, n" in (tmp_path / "helper.py").read_text()
    compile(loose, "loose.py", "exec")


def test_under_migrate_a_package_app_shares_the_pool_too(tmp_path: Path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/helpers.py": HEAVY
            + "\n\ndef work(n: int) -> int:\n    return crunch(n) + 1\n"
            + "\n\nasync def direct(n: int) -> int:\n    return crunch(n)\n",
            "pkg/main.py": "from fastapi import FastAPI\n\nfrom pkg.helpers import direct\n\n"
            "app = FastAPI()\n\n\n"
            '@app.get("/")\nasync def root():\n    return {"n": await direct(3)}\n',
        },
    )
    _apply(tmp_path, extra=("--migrate",))
    helpers = (tmp_path / "pkg/helpers.py").read_text()
    assert "def process_pool() -> ProcessPoolExecutor:" in helpers
    app = (tmp_path / "pkg/main.py").read_text()
    assert "from pkg.helpers import close_process_pool, direct" in app
    assert "await close_process_pool()" in app


def test_a_process_pool_imported_from_elsewhere_is_not_taken_for_the_apps(tmp_path: Path):
    _write(
        tmp_path,
        {
            "pools.py": "def process_pool():\n    return None\n",
            "helper.py": HEAVY + "\n\nasync def work(n: int) -> int:\n    return crunch(n)\n",
            "other.py": "import helper\nfrom pools import process_pool\n\n\n"
            + HEAVY
            + "\n\nasync def other(n: int) -> int:\n    return crunch(n)\n",
            "app.py": "from fastapi import FastAPI\n\nimport other\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    other = (tmp_path / "other.py").read_text()
    assert "from pools import process_pool\n" in other and "from helper import" not in other
    assert TAKEN_POOL in other and "_cpu_bound_executor(), crunch, n" in other


def test_a_module_that_only_looks_like_a_user_gets_no_pool_and_the_app_runs(tmp_path: Path):
    """The golden thread_bound_helper: analytics.py calls a CPU-bound function with a value that
    is not plain data (the thread pool); the module a superset of the users would have made the
    host (first in order) defines no pool, reports.py holds it, and the app RUN through its
    lifespan answers as the sync code did, on one pool that its lifespan shuts down."""
    sync, shared = tmp_path / "sync", tmp_path / "shared"
    for root in (sync, shared):
        root.mkdir()
        for path in (GOLDEN / "thread_bound_helper.before").glob("*.py"):
            (root / path.name).write_text(path.read_text())
    _apply(shared)
    analytics = (shared / "analytics.py").read_text()
    assert "process_pool" not in analytics and "ProcessPoolExecutor" not in analytics
    assert "def process_pool() -> ProcessPoolExecutor:" in (shared / "reports.py").read_text()

    def run(root: Path) -> dict:
        script = RUN.replace("/checksum/{n}", "/trend/{n}")
        done = subprocess.run(
            [sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    expected, after = run(sync), run(shared)
    assert after["answers"] == expected["answers"]
    assert (expected["pools"], after["pools"]) == (0, 1)
    assert after["running"] > 0 and after["left"] == 0


def test_an_app_whose_only_other_user_looks_like_one_gets_no_pool_at_all(tmp_path: Path):
    """Before cpu_sites.py, the helper hosted a pool nobody called and the app's lifespan
    closed it: dead code a reviewer rejects."""
    _write(
        tmp_path,
        {
            "helper.py": HEAVY + "\n\nasync def work(thing) -> int:\n    return crunch(thing)\n",
            "app.py": "from fastapi import FastAPI\n\nimport helper\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    helper = (tmp_path / "helper.py").read_text()
    assert "await asyncio.to_thread(crunch, thing)" in helper
    assert "process_pool" not in helper and "ProcessPoolExecutor" not in helper
    assert (tmp_path / "app.py").read_text() == (
        "from fastapi import FastAPI\n\nimport helper\n\napp = FastAPI()\n"
    )
