"""What the rewrites buy: one FastAPI app served by uvicorn, before and after ``asyncfix --apply``.

Run from a clone with the test extra installed (``pip install ".[test]"``: it has everything
this script needs -- fastapi, uvicorn, httpx, requests, sqlalchemy, aiosqlite, greenlet)::

    python benchmarks/rewrite_benefit.py [--duration 3] [--concurrency 16] [--keep]

What it does, all on 127.0.0.1 (nothing leaves the machine):

1. writes a small multi-file FastAPI project to a temporary directory (``main.py``,
   ``database.py``, ``models.py``, ``work.py``) with one ``async def`` route per rewrite family:
   ``/sleep`` (``time.sleep(0.05)``); ``/upstream`` (``requests.get`` to an upstream that this
   script runs in a child process: a threaded stdlib server answering after 50 ms); ``/db`` (a
   sync SQLAlchemy ``Session`` from a ``get_db`` dependency and a ``db.query(...)`` in the
   route that scans and sorts a 200,000-row SQLite table); ``/cpu`` (the seed's
   ``sum(i * i for i in range(...))``, scaled to about 60 ms); and ``/ping``;
2. copies it and runs ``asyncfix --apply`` on the copy (it must rewrite all four families: the
   copy becomes an ``AsyncSession`` + aiosqlite app, an ``httpx.AsyncClient`` app, and so on);
3. serves both versions with uvicorn (a subprocess each, one worker, a free port; stopped at
   the end whatever happens) and loads every route, on one version then on the other, with
   ``--concurrency`` concurrent requests from an ``httpx.AsyncClient`` for ``--duration``
   seconds (at most ``--max-requests`` requests), while a thread pings ``/ping`` in a loop
   (every 20 ms): ``/ping``'s latency while another route is under load is the
   event-loop-blocking symptom;
4. prints one Markdown table (requests per second, p50 / p99 latency, before -> after) with
   the machine it ran on.

Every response body is checked against the value the script computes itself (so the answers
are the same before and after the rewrite). Exit code: 0; 1 when the rewritten app answered a
request wrongly or failed it, when the original app answered wrongly (it may *fail* under load:
a 5xx or a timeout is a symptom of the blocking code, reported under the table), or when the
rewrite did not turn every family async; 2 on a setup failure (a server that does not start).

The load client runs in this process, on the same cores as the servers: on a small machine its
own CPU use caps the requests per second of the fast routes. Compare before with after, not
the absolute numbers with another machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

ROUTES = ("/ping", "/sleep", "/upstream", "/db", "/cpu")
FAMILIES = ("sleep_to_asyncio", "requests_to_httpx", "sqlalchemy_to_async", "cpu_to_executor")
UPSTREAM_DELAY = 0.05
CPU_RANGE = 500_000
# A report-style query: a full scan of ROWS rows (no index on price) and a sort, ~10-20 ms of
# SQLite time, about a network database's round trip. SQLite releases the GIL while it works.
ROWS = 200_000
MIN_PRICE = 999  # the literal in main.py's query
QUOTE = {"quote": "an async def is not a promise", "delay": UPSTREAM_DELAY}

# -- the sample app ------------------------------------------------------------------------------

APP_FILES = {
    "database.py": """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import declarative_base, sessionmaker

        SQLALCHEMY_DATABASE_URL = "sqlite:///./bench.db"

        engine = create_engine(
            SQLALCHEMY_DATABASE_URL, connect_args={"check_same_thread": False}
        )
        SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)

        Base = declarative_base()
    """,
    "models.py": """
        from sqlalchemy import Column, Integer, String

        from database import Base


        class Item(Base):
            __tablename__ = "items"

            id = Column(Integer, primary_key=True)
            name = Column(String, nullable=False)
            price = Column(Integer, nullable=False)
    """,
    "work.py": f"""
        def sum_of_squares():
            return sum(i * i for i in range({CPU_RANGE:_}))
    """,
    "main.py": '''
        """Sample app of benchmarks/rewrite_benefit.py: one blocking call per family."""
        import os
        import time

        import requests
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        import models
        import work
        from database import SessionLocal, engine

        UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8001/quote")

        models.Base.metadata.create_all(bind=engine)

        app = FastAPI()


        # Dependency
        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()


        @app.get("/ping")
        async def ping():
            return {"pong": True}


        @app.get("/sleep")
        async def slow():
            time.sleep(0.05)
            return {"slept": 0.05}


        @app.get("/upstream")
        async def upstream():
            response = requests.get(UPSTREAM_URL, timeout=10)
            return {"status": response.status_code, "quote": response.json()}


        @app.get("/db")
        async def expensive_items(db: Session = Depends(get_db)):
            items = (
                db.query(models.Item)
                .filter(models.Item.price >= 999)
                .order_by(models.Item.name.desc())
                .limit(5)
                .all()
            )
            return [{"id": item.id, "name": item.name, "price": item.price} for item in items]


        @app.get("/cpu")
        async def cpu():
            return {"sum": work.sum_of_squares()}
    ''',
}


def price(i: int) -> int:
    return (i * 37) % 1000


def write_app(root: Path) -> Path:
    """Write the sample project (sources and its seeded SQLite file) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, source in APP_FILES.items():
        (root / name).write_text(textwrap.dedent(source).lstrip())
    with sqlite3.connect(root / "bench.db") as db:
        # The table models.Item declares (create_all at startup then finds it and does nothing).
        db.execute(
            "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR NOT NULL,"
            " price INTEGER NOT NULL)"
        )
        db.executemany(
            "INSERT INTO items VALUES (?, ?, ?)",
            [(i, f"item-{i}", price(i)) for i in range(1, ROWS + 1)],
        )
    db.close()
    return root


def expected_bodies() -> Dict[str, Any]:
    """What each route must answer, computed here (not read from either server)."""
    rows = sorted(
        (i for i in range(1, ROWS + 1) if price(i) >= MIN_PRICE), key=lambda i: f"item-{i}"
    )
    rows = rows[::-1][:5]  # ORDER BY name DESC LIMIT 5 (SQLite's BINARY collation: str order)
    return {
        "/ping": {"pong": True},
        "/sleep": {"slept": 0.05},
        "/upstream": {"status": 200, "quote": QUOTE},
        "/db": [{"id": i, "name": f"item-{i}", "price": price(i)} for i in rows],
        "/cpu": {"sum": sum(i * i for i in range(CPU_RANGE))},
    }


def rewrite(root: Path) -> Dict[str, Any]:
    """``asyncfix --apply`` over ``root``, as a user runs it; its JSON document."""
    run = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--apply", "--output-format", "json", "."],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise SystemExit(f"asyncfix --apply failed (exit {run.returncode}):\n{run.stderr}")
    return json.loads(run.stdout)


# What the rewritten project must contain, per family (file, text).
REWRITTEN = (
    ("main.py", "await asyncio.sleep(0.05)"),
    ("main.py", "httpx.AsyncClient("),
    ("main.py", "db: AsyncSession = Depends(get_db)"),
    ("main.py", "async with SessionLocal() as db:"),
    ("database.py", "create_async_engine("),
    ("database.py", '"sqlite+aiosqlite:///./bench.db"'),
    ("main.py", ".run_in_executor("),
    ("main.py", "_cpu_bound_executor(), work.sum_of_squares"),
)


def rewrite_problems(root: Path, document: Dict[str, Any]) -> List[str]:
    """Why the rewrite of the sample project is not the one this benchmark measures (empty: it
    is): every family rewritten, nothing failed, the async versions in place."""
    summary = document["summary"]
    problems = [f"{name}: no rewrite" for name in FAMILIES if not summary["rewrites"].get(name)]
    if summary["failed"]:
        problems.append(f"{summary['failed']} files failed")
    for name, text in REWRITTEN:
        if text not in (root / name).read_text():
            problems.append(f"{text!r} not in the rewritten {name}")
    return problems


# -- servers -------------------------------------------------------------------------------------


class Upstream(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(UPSTREAM_DELAY)
        body = json.dumps(QUOTE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class UpstreamServer(ThreadingHTTPServer):
    request_queue_size = 256  # listen backlog: every concurrent request gets in
    daemon_threads = True


def serve_upstream(ready: Any) -> None:
    """The upstream, in a process of its own: its threads do not compete with the load client
    for this process's GIL."""
    server = UpstreamServer(("127.0.0.1", 0), Upstream)
    ready.put(server.server_address[1])
    server.serve_forever()


@contextlib.contextmanager
def upstream_server() -> Iterator[str]:
    """The upstream's URL while it runs; stopped (by its process id) on the way out."""
    context = multiprocessing.get_context()
    ready = context.Queue()
    process = context.Process(target=serve_upstream, args=(ready,), daemon=True)
    process.start()
    try:
        port = ready.get(timeout=60)
        yield f"http://127.0.0.1:{port}/quote"
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Uvicorn:
    """``uvicorn main:app`` in ``root`` on a free loopback port; a context manager that always
    stops it (and anything it started, e.g. a process pool: its own process group)."""

    def __init__(self, root: Path, upstream_url: str) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "uvicorn.log"
        # Loopback only, whatever proxy the environment names (requests and httpx honour them).
        self.env = dict(
            os.environ,
            UPSTREAM_URL=upstream_url,
            PYTHONDONTWRITEBYTECODE="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        self.proc: Optional[subprocess.Popen] = None
        self.log_offset = 0

    def __enter__(self) -> "Uvicorn":
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(
                    f"uvicorn exited ({self.proc.returncode}):\n{self.log.read_text()}"
                )
            try:
                if httpx.get(self.url + "/ping", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerFailed(
            f"uvicorn did not answer within {timeout:.0f} s:\n{self.log.read_text()}"
        )

    def new_errors(self) -> List[str]:
        """The exceptions uvicorn logged since the last call (the last line of each traceback)."""
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode(errors="replace")
            self.log_offset = log.tell()
        return sorted(set(EXCEPTION_LINE.findall(text)))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (lifespan, atexit)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever is left of its process group, by its id (we started it)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(timeout=15)

    def __exit__(self, *exc: object) -> None:
        self.stop()


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*$", re.MULTILINE)


class ServerFailed(Exception):
    pass


# -- load ----------------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: List[float] = field(default_factory=list)
    ping: List[float] = field(default_factory=list)
    wrong: List[str] = field(default_factory=list)  # answered, but not the expected answer
    failed: List[str] = field(default_factory=list)  # a 5xx, a timeout, a broken connection
    server_errors: List[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else float("nan")


def check(
    url: str, response: Any, error: Optional[Exception], expected: Any, result: Result
) -> None:
    """File a response (or the exception that replaced it) under wrong / failed, if it is."""
    if error is not None:
        result.failed.append(f"{url}: {error!r}")
    elif response.status_code >= 500:
        result.failed.append(f"{url}: {response.status_code} {response.text[:200]}")
    else:
        try:
            ok = response.status_code == 200 and response.json() == expected
        except ValueError:
            ok = False
        if not ok:
            result.wrong.append(f"{url}: {response.status_code} {response.text[:200]}")


async def get_checked(client, url: str, expected: Any, result: Result, into: List[float]) -> None:
    import httpx

    started = time.perf_counter()
    response, error = None, None
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        error = exc
    into.append(time.perf_counter() - started)
    check(url, response, error, expected, result)


def pinger(url: str, expected: Any, result: Result, stop: threading.Event) -> None:
    """/ping in a loop, in a thread of its own with a blocking client: its latency is not
    delayed by the load client's event loop (only by the GIL, in 5 ms slices at worst)."""
    import httpx

    with httpx.Client(timeout=30, trust_env=False) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response, error = None, None
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                error = exc
            result.ping.append(time.perf_counter() - started)
            check(url, response, error, expected, result)
            stop.wait(0.02)


async def load(base: str, route: str, expected: Dict[str, Any], args: argparse.Namespace) -> Result:
    """``args.concurrency`` workers on ``route`` for ``args.duration`` s (at most
    ``args.max_requests`` requests), and one pinger on /ping meanwhile."""
    import httpx

    result = Result()
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
        for _ in range(3):  # warm-up (connections, a process pool, the SQLite file), checked too
            await get_checked(client, base + route, expected[route], result, [])
        issued = 0
        deadline = time.perf_counter() + args.duration

        async def worker() -> None:
            nonlocal issued
            while time.perf_counter() < deadline and issued < args.max_requests:
                issued += 1
                await get_checked(client, base + route, expected[route], result, result.latencies)

        stop = threading.Event()
        ping_thread = threading.Thread(
            target=pinger, args=(base + "/ping", expected["/ping"], result, stop)
        )
        if route != "/ping":
            ping_thread.start()
        started = time.perf_counter()
        try:
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            result.elapsed = time.perf_counter() - started
        finally:
            stop.set()
            if ping_thread.is_alive():
                ping_thread.join()
    return result


def measure(
    roots: Dict[str, Path], upstream_url: str, expected: Dict[str, Any], args
) -> Dict[str, Dict[str, Result]]:
    """Both versions served at once; each route loaded on one, then on the other, so that both
    see about the same machine (the load of a shared machine drifts)."""
    results: Dict[str, Dict[str, Result]] = {label: {} for label in roots}
    with contextlib.ExitStack() as stack:
        servers = {
            label: stack.enter_context(Uvicorn(root, upstream_url)) for label, root in roots.items()
        }
        for route in ROUTES:
            for label, server in servers.items():
                print(f"  {label} {route} ...", file=sys.stderr, flush=True)
                results[label][route] = result = asyncio.run(
                    load(server.url, route, expected, args)
                )
                result.server_errors = server.new_errors()
    return results


# -- report --------------------------------------------------------------------------------------


def machine_note(load_at_start: float) -> str:
    import importlib.util

    import fastapi
    import sqlalchemy
    import uvicorn

    load_at_end = os.getloadavg()[0]
    # What uvicorn's "auto" loop and http settings pick.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    note = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, uvicorn {uvicorn.__version__} ({loop} loop, {http}), "
        f"fastapi {fastapi.__version__}, SQLAlchemy {sqlalchemy.__version__}; "
        f"1-minute load average {load_at_start:.1f} at the start, {load_at_end:.1f} at the end"
    )
    if max(load_at_start, load_at_end) > 1:
        note += " (a shared machine: other processes competed for the cores)"
    return note


def table(before: Dict[str, Result], after: Dict[str, Result]) -> str:
    def answers(result: Result) -> str:
        bad = [f"{len(result.wrong)} WRONG"] if result.wrong else []
        bad += [f"{len(result.failed)} failed"] if result.failed else []
        return ", ".join(bad) or "correct"

    def ms(values: List[float]) -> str:
        return f"{percentile(values, 0.5):.0f} / {percentile(values, 0.99):.0f}" if values else "-"

    lines = [
        (
            "| route | req/s before | req/s after | p50 / p99 ms before | p50 / p99 ms after "
            "| `/ping` p50 / p99 ms during this load, before | after | answers |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for route in ROUTES:
        b, a = before[route], after[route]
        same = (
            "same, correct"
            if answers(b) == answers(a) == "correct"
            else (f"before: {answers(b)}; after: {answers(a)}")
        )
        lines.append(
            f"| `{route}` | {b.rps:.0f} | {a.rps:.0f} | {ms(b.latencies)} | {ms(a.latencies)} "
            f"| {ms(b.ping)} | {ms(a.ping)} | {same} |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=3.0, help="seconds of load per route (default 3)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent requests (default 16)"
    )
    parser.add_argument("--max-requests", type=int, default=2000, help="cap per route and version")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary projects (prints where)"
    )
    args = parser.parse_args(argv)
    expected = expected_bodies()
    load_at_start = os.getloadavg()[0]

    tmp = Path(tempfile.mkdtemp(prefix="asyncfix-bench-"))
    try:
        before_dir = write_app(tmp / "before")
        after_dir = tmp / "after"
        shutil.copytree(before_dir, after_dir)
        print("asyncfix --apply on the copy ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        document = rewrite(after_dir)
        rewrite_wall = time.perf_counter() - started
        rewrites = document["summary"]["rewrites"]
        missing = rewrite_problems(after_dir, document)

        with upstream_server() as upstream_url:
            results = measure(
                {"before": before_dir, "after": after_dir}, upstream_url, expected, args
            )
        before, after = results["before"], results["after"]
    except ServerFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"projects kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"machine: {machine_note(load_at_start)}")
    print(
        f"load: {args.concurrency} concurrent requests per route for {args.duration:g} s "
        f"(at most {args.max_requests}), client in the same machine; `/ping` pinged in a loop meanwhile"
    )
    print(
        f"rewrite: asyncfix --apply in {rewrite_wall:.1f} s, rewrites "
        + ", ".join(f"{name} {count}" for name, count in sorted(rewrites.items()))
        + f", {len(document['diagnostics'])} diagnostics"
    )
    print()
    print(table(before, after))
    notes = []
    for label, results in (("before", before), ("after", after)):
        for route, result in results.items():
            for kind, problems in (
                ("wrong answers", result.wrong),
                ("failed requests", result.failed),
            ):
                if problems:
                    notes.append(
                        f"- {label}, `{route}` (and `/ping` meanwhile): {len(problems)} {kind}, e.g. "
                        f"`{problems[0][:100]}`; the server logged: "
                        + ("; ".join(f"`{e[:160]}`" for e in result.server_errors) or "nothing")
                    )
    if notes:
        print("\n" + "\n".join(notes))
    # The rewritten app must answer every request, right. The original must never answer
    # wrongly, but it may fail under load: that is one of the symptoms this benchmark shows.
    failed = any(r.wrong or r.failed for r in after.values()) or any(
        r.wrong for r in before.values()
    )
    for problem in missing:
        print(f"rewrite incomplete: {problem}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
