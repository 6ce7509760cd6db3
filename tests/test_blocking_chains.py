"""Blocking through project code (issue 16): apps written for the tests, one per shape, each with
its own pytest suite run before and after ``asyncfix --apply``, and the loop stall measured
before and after in the same run (tests/loop_stall.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

from loop_stall import measure_stall, run_app_tests

# A query that keeps SQLite busy for tens of milliseconds (sqlite3 releases the GIL meanwhile,
# so a threadpool really runs them side by side).
SLOW_SQL = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) "
    "SELECT count(*) FROM c"
)


def write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def apply(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asyncfix", "--apply", "--no-cache", *args, "."],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )


def snapshot(root: Path) -> Dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def _stall_drops(root: Path, paths, before: float) -> float:
    after = measure_stall(root, paths)
    floor = measure_stall(root, ["/health"])
    # Near the no-blocking floor (measured now, same machine), and far below the stall before.
    assert after < before / 2, (before, after, floor)
    assert after < floor + (before - floor) / 2, (before, after, floor)
    return after


SERVICE_APP = {
    "pyproject.toml": "",
    "db.py": f"""
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("sqlite:///./app.db", connect_args={{"check_same_thread": False}})
        SessionLocal = sessionmaker(engine)

        SLOW = text("{SLOW_SQL}")


        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()
        """,
    "services.py": """
        from typing import Annotated

        from fastapi import Depends
        from sqlalchemy.orm import Session

        from db import SLOW, get_db


        class TaskService:
            def __init__(self, db: Annotated[Session, Depends(get_db)]):
                self.db = db

            def count(self) -> int:
                return self.db.execute(SLOW).scalar_one()
        """,
    "main.py": """
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from services import TaskService

        app = FastAPI()
        SvcDep = Annotated[TaskService, Depends()]


        @app.get("/tasks")
        async def read_tasks(svc: SvcDep):
            return {"count": svc.count()}


        @app.get("/health")
        async def health():
            return {"ok": True}
        """,
    "test_app.py": """
        from fastapi.testclient import TestClient

        from main import app


        def test_tasks():
            assert TestClient(app).get("/tasks").json() == {"count": 400000}


        def test_health():
            assert TestClient(app).get("/health").json() == {"ok": True}
        """,
}


def test_a_routes_without_awaits_over_an_injected_service_are_demoted(tmp_path: Path):
    write(tmp_path, SERVICE_APP)
    assert run_app_tests(tmp_path).returncode == 0
    before = measure_stall(tmp_path, ["/tasks"])
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after_sources = snapshot(tmp_path)
    assert "def read_tasks(svc: SvcDep):" in after_sources["main.py"]
    assert "async def read_tasks" not in after_sources["main.py"]
    assert "async def health" in after_sources["main.py"]  # blocks nothing: left alone
    assert after_sources["services.py"] == textwrap.dedent(SERVICE_APP["services.py"]).lstrip()
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
    _stall_drops(tmp_path, ["/tasks"], before)
    assert apply(tmp_path).stdout == ""  # a fixed point


HELPER_APP = {
    "pyproject.toml": "",
    "upstream.py": """
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


        class Slow(BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(0.15)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"pong")

            def log_message(self, *args):
                pass


        server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        URL = f"http://127.0.0.1:{server.server_address[1]}/"
        """,
    "fetch.py": """
        import requests

        from upstream import URL


        def process_url(suffix: str) -> str:
            return requests.get(URL + suffix, timeout=10).text
        """,
    "main.py": """
        import asyncio

        from fastapi import FastAPI

        from fetch import process_url

        app = FastAPI()


        @app.get("/plain")
        async def plain():
            return {"body": process_url("a")}


        @app.get("/awaiting")
        async def awaiting():
            await asyncio.sleep(0)
            body = process_url("b")
            return {"body": body}


        async def job() -> str:
            return process_url("c")


        @app.get("/job")
        async def run_job():
            return {"body": await job()}


        @app.get("/health")
        async def health():
            return {"ok": True}
        """,
    "cli.py": """
        from fetch import process_url


        def main() -> None:
            print(process_url("cli"))
        """,
    "test_app.py": """
        from fastapi.testclient import TestClient

        import cli
        from main import app


        def test_routes():
            client = TestClient(app)
            for path in ("/plain", "/awaiting", "/job"):
                assert client.get(path).json() == {"body": "pong"}


        def test_cli(capsys):
            cli.main()
            assert capsys.readouterr().out == "pong\\n"
        """,
}


def test_c_requests_helper_shared_with_a_sync_cli_gets_the_right_fallback(tmp_path: Path):
    write(tmp_path, HELPER_APP)
    assert run_app_tests(tmp_path).returncode == 0
    paths = ["/plain", "/awaiting", "/job"]
    before = measure_stall(tmp_path, paths)
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(tmp_path)
    # The helper stays sync: its CLI caller is sync, so making it async would break it.
    assert after["fetch.py"] == textwrap.dedent(HELPER_APP["fetch.py"]).lstrip()
    assert after["cli.py"] == textwrap.dedent(HELPER_APP["cli.py"]).lstrip()
    main = after["main.py"]
    assert "def plain():" in main and "async def plain" not in main  # never awaits: demoted
    assert 'body = await asyncio.to_thread(process_url, "b")' in main  # awaits: offloaded
    assert 'return await asyncio.to_thread(process_url, "c")' in main  # no route: offloaded
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
    _stall_drops(tmp_path, paths, before)


MODEL_APP = {
    "pyproject.toml": "",
    "models.py": f"""
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

        engine = create_engine("sqlite:///./models.db", connect_args={{"check_same_thread": False}})


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]

            @classmethod
            def heavy_count(cls) -> int:
                with Session(engine) as session:
                    return session.execute(text("{SLOW_SQL}")).scalar_one()


        Base.metadata.create_all(engine)
        """,
    "main.py": """
        import asyncio

        from fastapi import FastAPI

        from models import Item

        app = FastAPI()


        @app.get("/count")
        async def count():
            await asyncio.sleep(0)
            total = Item.heavy_count()
            return {"count": total}


        @app.get("/health")
        async def health():
            return {"ok": True}
        """,
    "test_app.py": """
        from fastapi.testclient import TestClient

        from main import app


        def test_count():
            assert TestClient(app).get("/count").json() == {"count": 400000}
        """,
}


def test_d_model_classmethods_opening_their_own_sessions(tmp_path: Path):
    write(tmp_path, MODEL_APP)
    assert run_app_tests(tmp_path).returncode == 0
    before = measure_stall(tmp_path, ["/count"])
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = snapshot(tmp_path)["main.py"]
    assert "total = await asyncio.to_thread(Item.heavy_count)" in main
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
    _stall_drops(tmp_path, ["/count"], before)


NEGATIVE_APP = {
    "pyproject.toml": "",
    "helpers.py": """
        import time


        def slow() -> int:
            time.sleep(0.05)
            return 1


        def cheap(xs):
            return sorted(xs)
        """,
    "main.py": """
        import asyncio

        from fastapi import FastAPI
        from starlette.concurrency import run_in_threadpool

        from helpers import cheap, slow

        app = FastAPI()


        @app.get("/cheap")
        async def cheap_route():
            return {"xs": cheap([3, 1, 2])}


        @app.get("/threaded")
        async def threaded():
            a = await asyncio.to_thread(slow)
            b = await run_in_threadpool(slow)
            return {"n": a + b}


        def plain_sync():
            return slow()
        """,
}


def test_e_code_that_does_not_block_the_loop_is_left_alone(tmp_path: Path):
    write(tmp_path, NEGATIVE_APP)
    before = snapshot(tmp_path)
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(tmp_path) == before
    assert "BLOCK001" not in result.stdout


REPORTED_APP = {
    "pyproject.toml": "",
    "store.py": """
        import sqlite3
        from contextlib import contextmanager


        @contextmanager
        def connection(path: str):
            conn = sqlite3.connect(path)
            try:
                yield conn
            finally:
                conn.close()
        """,
    "main.py": """
        import asyncio

        from store import connection


        async def read(path: str) -> int:
            await asyncio.sleep(0)
            with connection(path) as conn:
                row = conn.execute("select 1").fetchone()
                if row is None:
                    return 0  # an early return: the block cannot become a function
            await asyncio.sleep(0)
            return row[0]
        """,
}


def test_a_blocking_context_manager_is_reported_with_its_chain(tmp_path: Path):
    write(tmp_path, REPORTED_APP)
    before = snapshot(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--check", "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 1
    assert snapshot(tmp_path) == before
    assert (
        "main.py:8:10: BLOCK001 coroutine read blocks the event loop: "
        "read -> connection (store.py:7) -> sqlite3.connect [stdlib]"
    ) in result.stdout, result.stdout


def test_declared_blocking_and_unknown_receivers(tmp_path: Path):
    write(
        tmp_path,
        {
            "pyproject.toml": "",
            "lib.py": """
            def crunch(x):  # asyncfix: blocking
                return x


            def passthrough(obj):
                return obj.fetch()
            """,
            "main.py": """
            import asyncio

            from lib import crunch, passthrough


            async def job(thing):
                await asyncio.sleep(0)
                a = crunch(1)
                b = passthrough(thing)
                return a, b
            """,
        },
    )
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = snapshot(tmp_path)["main.py"]
    assert "a = await asyncio.to_thread(crunch, 1)" in main
    assert "b = passthrough(thing)" in main  # unknown receiver: unknown, never blocking


CONTEXT_APP = {
    "pyproject.toml": "",
    "store.py": """
        import sqlite3
        from contextlib import contextmanager


        @contextmanager
        def connection(path: str):
            conn = sqlite3.connect(path)
            try:
                yield conn
            finally:
                conn.close()
        """,
    "main.py": f"""
        import asyncio

        from fastapi import FastAPI

        from store import connection

        app = FastAPI()


        @app.get("/count")
        async def count():
            await asyncio.sleep(0)
            with connection("data.db") as conn:
                total = conn.execute("{SLOW_SQL}").fetchone()[0]
            return {{"count": total}}


        @app.get("/health")
        async def health():
            return {{"ok": True}}
        """,
    "test_app.py": """
        from fastapi.testclient import TestClient

        from main import app


        def test_count():
            assert TestClient(app).get("/count").json() == {"count": 400000}
        """,
}


def test_b_a_blocking_context_manager_block_moves_to_one_thread(tmp_path: Path):
    write(tmp_path, CONTEXT_APP)
    assert run_app_tests(tmp_path).returncode == 0
    before = measure_stall(tmp_path, ["/count"])
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = snapshot(tmp_path)["main.py"]
    # The resource is opened, used and closed on one thread: the whole block moved.
    assert '    def _connection_block():\n        with connection("data.db") as conn:\n' in main
    assert "    total = await asyncio.to_thread(_connection_block)\n" in main
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
    _stall_drops(tmp_path, ["/count"], before)
    assert apply(tmp_path).stdout == ""


def test_blocking_apis_declared_in_the_configuration(tmp_path: Path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.asyncfix]\nblocking = ["vendor_sdk.Client.*"]\n',
            "sdk.py": """
            from vendor_sdk import Client


            def upload(client: Client, data: bytes) -> None:
                client.put(data)
            """,
            "main.py": """
            import asyncio

            from vendor_sdk import Client

            from sdk import upload


            async def store(client: Client, data: bytes) -> None:
                await asyncio.sleep(0)
                upload(client, data)
            """,
        },
    )
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "await asyncio.to_thread(upload, client, data)" in snapshot(tmp_path)["main.py"]


def _native_app(extra: Dict[str, str]) -> Dict[str, str]:
    app = {name: text for name, text in HELPER_APP.items() if name not in ("cli.py", "test_app.py")}
    app["test_app.py"] = """
        from fastapi.testclient import TestClient

        from main import app


        def test_routes():
            client = TestClient(app)
            for path in ("/plain", "/awaiting", "/job"):
                assert client.get(path).json() == {"body": "pong"}
        """
    app.update(extra)
    return app


def test_c_requests_helper_used_only_by_coroutines_becomes_async_natively(tmp_path: Path):
    write(tmp_path, _native_app({}))
    assert run_app_tests(tmp_path).returncode == 0
    paths = ["/plain", "/awaiting", "/job"]
    before = measure_stall(tmp_path, paths)
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(tmp_path)
    assert "async def process_url(suffix: str) -> str:" in after["fetch.py"]
    # the app imports fetch.py: it holds the app's one shared client (requests_hosts)
    assert "await http_client().get(URL + suffix, timeout=10)" in after["fetch.py"]
    assert "await close_http_client()" in after["main.py"]
    assert "import requests" not in after["fetch.py"]
    main = after["main.py"]
    assert 'return {"body": await process_url("a")}' in main
    assert 'body = await process_url("b")' in main
    assert "to_thread" not in main
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
    _stall_drops(tmp_path, paths, before)
    assert apply(tmp_path).stdout == ""


def test_c_a_test_that_mocks_requests_keeps_the_helper_sync(tmp_path: Path):
    mocked = """
        from unittest.mock import patch

        import fetch


        def test_mocked():
            with patch("fetch.requests.get") as get:
                get.return_value.text = "mocked"
                assert fetch.process_url("x") == "mocked"
        """
    write(tmp_path, _native_app({"test_mock.py": mocked}))
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(tmp_path)
    assert after["fetch.py"] == textwrap.dedent(HELPER_APP["fetch.py"]).lstrip()
    assert 'body = await asyncio.to_thread(process_url, "b")' in after["main.py"]
    tests = run_app_tests(tmp_path)
    assert tests.returncode == 0, tests.stdout
