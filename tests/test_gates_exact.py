"""The rewrite gates decide on the ``ast`` what the transforms would decide in libcst, so a file
reaches libcst only when a codemod acts in it (rewrite or diagnostic). rewrite.IDLE lists the
files that reached libcst and came out unchanged with no diagnostic: kept at none for the
families fixed here, with the old, looser gate (opened by the patches below) as the control.

- dependency_close, a ``@contextmanager`` generator that is no dependency: it acts only on a
  use of the yielded name after the ``yield`` or on a resource whose release is known (a table
  entry, a session factory, a project class with close), looked up once the project's facts are
  combined (dependency_yields.releases_known). Before, any such generator with a created,
  yielded name reached libcst (four files of the 816-file tree, SQLAlchemy's, fastapi's and
  libcst's own).
- cpu_to_executor: of ``multiprocessing`` it acts on ``Pool`` only (cpu_pool.PoolRewrite);
  before, any multiprocessing name in a coroutine (black's ``Manager()``) sent the file.
- requests_to_httpx: of httpx it acts in a coroutine on the sync ``Client`` and the request
  functions, and anywhere on ``(Async)Client(app=...)``; before, any httpx name in a coroutine
  (``httpx.AsyncClient()``, what an async app already uses) sent the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Tuple

import pytest
from asyncfix.codemods import dependency_yields, engine, rewrite
from asyncfix.codemods.fact_gates import CpuToExecutorGate, RequestsToHttpxGate
from asyncfix.codemods.files import DEFAULT_EXCLUDES, discover
from asyncfix.codemods.first_pass import FirstPass
from conftest import DEFAULT_SETTINGS, GOLDEN

REALCODE = Path("/work/realcode")
# The tokens without which neither change can matter to a file (a contextmanager decorator
# needs its import, a multiprocessing name its import).
TOKENS = (b"contextmanager", b"multiprocessing", b"httpx")


def _open_gates(monkeypatch) -> None:
    """The gates as they were: a @contextmanager generator with a created, yielded name goes
    to libcst whatever it yields; any multiprocessing name in a coroutine sends the file."""
    original = dependency_yields._acts_on
    monkeypatch.setattr(
        dependency_yields, "_acts_on", lambda function, dependency=True: original(function)
    )
    targets = (CpuToExecutorGate.ASYNC_TARGETS - {"multiprocessing.Pool"}) | {"multiprocessing"}
    monkeypatch.setattr(CpuToExecutorGate, "ASYNC_TARGETS", targets)
    targets = frozenset({"requests", "httpx", "urllib.request"})
    monkeypatch.setattr(RequestsToHttpxGate, "ASYNC_TARGETS", targets)
    plain = classmethod(FirstPass.in_coroutines.__func__)  # type: ignore[attr-defined]
    monkeypatch.setattr(RequestsToHttpxGate, "in_coroutines", plain)


def _run(paths: List[Path], root: Path, codemods=None) -> Tuple[list, list]:
    settings = dataclasses.replace(DEFAULT_SETTINGS, root=str(root), written=False)
    if codemods:
        settings = dataclasses.replace(settings, codemods=codemods)
    files, missing = discover([str(p) for p in paths], DEFAULT_EXCLUDES)
    assert not missing
    del rewrite.IDLE[:]
    results = [
        (r.display, r.status, r.error, r.diff, [d.format() for d in r.diagnostics])
        for r in engine.run(files, settings, jobs=1)
    ]
    return results, list(rewrite.IDLE)


def _gated_and_opened(paths: List[Path], root: Path, monkeypatch, codemods=None):
    gated = _run(paths, root, codemods)
    with monkeypatch.context() as patch:
        _open_gates(patch)
        opened = _run(paths, root, codemods)
    assert gated[0] == opened[0]
    return gated, opened


# The shapes that reached libcst for nothing on the 816-file tree (reduced from fastapi's
# concurrency.py, libcst's helpers/paths.py, SQLAlchemy's testing/assertions.py, black's
# concurrency.py).
IDLE_SHAPES = {
    "threads.py": (
        "from contextlib import asynccontextmanager\n\n"
        "from starlette.concurrency import run_in_threadpool\n\n\n"
        "@asynccontextmanager\n"
        "async def in_threadpool(cm):\n"
        "    value = await run_in_threadpool(cm.__enter__)\n"
        "    try:\n"
        "        yield value\n"
        "    except BaseException as e:\n"
        "        if not await run_in_threadpool(cm.__exit__, type(e), e, None):\n"
        "            raise\n"
        "    else:\n"
        "        await run_in_threadpool(cm.__exit__, None, None, None)\n"
    ),
    "paths.py": (
        "import os\n"
        "from contextlib import contextmanager\n"
        "from pathlib import Path\n\n\n"
        "@contextmanager\n"
        "def chdir(path):\n"
        "    try:\n"
        "        path = Path(path).resolve()\n"
        "        cwd = os.getcwd()\n"
        "        os.chdir(path)\n"
        "        yield path\n"
        "    finally:\n"
        "        os.chdir(cwd)\n"
    ),
    "expect.py": (
        "import contextlib\n"
        "import warnings\n\n\n"
        "@contextlib.contextmanager\n"
        "def expect(*messages):\n"
        "    seen = set()\n"
        "    yield seen\n"
        "    assert seen == set(messages)\n"
    ),
    "schedule.py": (
        "import asyncio\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from multiprocessing import Manager\n\n\n"
        "async def schedule(loop, executor, sources):\n"
        "    lock = Manager().Lock()\n"
        "    return [loop.run_in_executor(executor, print, s, lock) for s in sources]\n"
    ),
    "proxy.py": (
        "import httpx\n\n\n"
        "async def forward(url):\n"
        "    client = httpx.AsyncClient()\n"
        "    try:\n"
        "        return (await client.get(url, timeout=httpx.Timeout(5.0))).json()\n"
        "    finally:\n"
        "        await client.aclose()\n"
    ),
}


def test_files_the_transforms_leave_alone_stay_out_of_libcst(tmp_path: Path, monkeypatch):
    for name, text in IDLE_SHAPES.items():
        (tmp_path / name).write_text(text)
    (gated, idle), (_, opened_idle) = _gated_and_opened([tmp_path], tmp_path, monkeypatch)
    assert all(status == "unchanged" and not diagnostics for _, status, _, _, diagnostics in gated)
    assert idle == []
    # the control: the old gates sent every one of them to libcst
    assert sorted(Path(path).name for path, _ in opened_idle) == sorted(IDLE_SHAPES)


def test_what_the_transforms_act_on_still_reaches_them(tmp_path: Path, monkeypatch):
    """A project class with close() through a re-export, a session factory, a release after the
    yield (moved into finally), and a module-level multiprocessing pool used in a coroutine
    (CPU003): decided on the ast after the project is combined, all still rewritten/reported."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "resources.py").write_text(
        "class Conn:\n    def close(self):\n        pass\n"
    )
    (tmp_path / "db" / "__init__.py").write_text("from .resources import Conn as Connection\n")
    (tmp_path / "db" / "session.py").write_text(
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
        'SessionLocal = sessionmaker(bind=create_engine("sqlite://"))\n'
    )
    (tmp_path / "helpers.py").write_text("def make():\n    return object()\n")
    (tmp_path / "managers.py").write_text(
        "from contextlib import contextmanager\n\n"
        "from db import Connection\nfrom db.session import SessionLocal\nfrom helpers import make\n"
        "\n\n@contextmanager\ndef connect():\n    conn = Connection()\n    yield conn\n"
        "\n\n@contextmanager\ndef session():\n    s = SessionLocal()\n    yield s\n"
        "\n\n@contextmanager\ndef handle():\n    h = make()\n    yield h\n    h.close()\n"
        "\n\n@contextmanager\ndef plain():\n    h = make()\n    yield h\n"
    )
    (tmp_path / "pools.py").write_text(
        "from multiprocessing import Pool\n\npool = Pool()\n\n\n"
        "def square(x):\n    return x * x\n\n\n"
        "async def squares(xs):\n    return pool.map(square, xs)\n"
    )
    (tmp_path / "clients.py").write_text(
        "import httpx\n\nclient = httpx.Client()\n\n\n"
        "async def fetch(url):\n    return client.get(url)\n"
    )
    (tmp_path / "test_app.py").write_text(
        "import httpx\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "def make_client():\n    return httpx.AsyncClient(app=app, base_url='http://t')\n\n\n"
        "async def test_root():\n    async with make_client() as client:\n"
        "        response = await client.get('/', timeout=httpx.Timeout(1.0))\n"
        "        assert response.status_code == 404\n"
    )
    codemods = ("dependency_close", "cpu_to_executor", "requests_to_httpx")
    (results, idle), _ = _gated_and_opened([tmp_path], tmp_path, monkeypatch, codemods)
    by_name = {Path(path).name: (diff, diagnostics) for path, _, _, diff, diagnostics in results}
    diff = by_name["managers.py"][0]
    for name in ("conn", "s", "h"):
        assert f"+    finally:\n+        {name}.close()" in diff
    assert diff.count("finally") == 3  # `plain` yields an unknown object: left alone
    assert [d.split(": ", 1)[1][:6] for d in by_name["pools.py"][1]] == ["CPU003"]
    assert [d.split(": ", 1)[1][:8] for d in by_name["clients.py"][1]] == ["ASYNC212"]
    assert "transport=httpx.ASGITransport(app=app)" in by_name["test_app.py"][0]
    # a changed file goes through once more, to confirm the fixed point: nothing else idles
    changed = {path for path, status, _, _, _ in results if status == "changed"}
    assert {path for path, _ in idle} <= changed


def test_the_lookup_follows_the_project_facts():
    facts = {
        "aliases": {"db.Connection": "db.resources.Conn"},
        "classes": {
            "db.resources.Conn": {"methods": {"close": "sync"}, "bases": []},
            "db.resources.Plain": {"methods": {}, "bases": []},
            "db.resources.Unknown": {"methods": {}, "bases": ["lib.Base"]},
        },
        "factories": {"db.session.SessionLocal": "sync", "db.session.Odd": "?"},
    }
    known = dependency_yields.releases_known
    assert known(["db.Connection"], "/p/m.py", "/p", facts)
    assert known([".db.session.SessionLocal"], "/p/m.py", "/p", facts)
    assert known([":Conn"], "/p/db/resources.py", "/p", facts)
    assert not known(["db.resources.Plain", "db.resources.Unknown"], "/p/m.py", "/p", facts)
    assert not known(["db.session.Odd", "pathlib.Path.resolve"], "/p/m.py", "/p", facts)


def _projects() -> List[Tuple[str, List[Path]]]:
    """Every golden project and real-code tree one of the two changes can matter to."""
    projects = []
    for folder in sorted(GOLDEN.glob("*/*.before")):
        projects.append((f"{folder.parent.name}/{folder.name}", [folder]))
    for codemod in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        singles = sorted([*codemod.glob("*.before.py"), *codemod.glob("*.noop.py")])
        projects.append((f"{codemod.name}/*", singles))
    if REALCODE.is_dir():
        for tree in sorted(REALCODE.glob("*/pristine")):
            projects.append((f"real/{tree.parent.name}", [tree]))

    def relevant(paths: List[Path]) -> bool:
        files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py"))]
        return any(token in f.read_bytes() for f in files for token in TOKENS)

    return [(name, paths) for name, paths in projects if relevant(paths)]


@pytest.mark.parametrize("name,paths", _projects(), ids=[name for name, _ in _projects()])
def test_projects_come_out_as_with_the_old_gates(name: str, paths: List[Path], monkeypatch):
    root = paths[0] if paths[0].is_dir() else paths[0].parent
    (_, idle), (_, opened_idle) = _gated_and_opened(paths, root, monkeypatch)
    assert len(idle) <= len(opened_idle)
