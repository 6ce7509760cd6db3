"""dependency_close: unit cases, the cross-file first pass, and the runtime claim on a real app:
N requests through a rewritten dependency (some of them raising) open N resources and close N."""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
from pathlib import Path
from typing import Dict

import httpx
import pytest
from asyncfix.cli import main
from asyncfix.codemods import BY_NAME
from asyncfix.codemods.dependency_close import DependencyClose
from asyncfix.codemods.engine import Settings, run
from asyncfix.codemods.files import SourceFile
from asyncfix.codemods.program_facts import ProjectIndex
from click.testing import CliRunner
from conftest import check_noop, check_transformed, rewrite

SELECT = {"select": ["dependency_close"], "fmt": False}


def _d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


SEED_PROBLEM = """\
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(autocommit=False, autoflush=False)
app = FastAPI()


# Not closing database session properly
async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        pass  # Missing db.close()


@app.get("/users/{user_id}")
async def get_user(user_id: int, db: Session = Depends(get_db)):
    return {"id": user_id}
"""


def test_seed_article_problem_becomes_its_solution():
    """Seed "Improper Dependency Injection Leading to Memory Leaks": `finally: pass  # Missing
    db.close()` becomes the article's solution, `finally: db.close()`; the comment described
    the bug, so it goes. A sync Session in an `async def` is closed without `await`: the
    resource's type decides, not the def. (Only this codemod runs here: the SQLAlchemy codemod,
    which runs after it, goes on to `async with SessionLocal() as db: yield db`.)"""
    solution = SEED_PROBLEM.replace("        pass  # Missing db.close()\n", "        db.close()\n")
    assert check_transformed(SEED_PROBLEM, solution, select=["dependency_close"]) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """
            import fastapi
            from sqlalchemy.orm import Session
            def get_db():
                db = Session()
                yield db
            def route(db=fastapi.Depends(get_db)): ...
            """,
            """
            import fastapi
            from sqlalchemy.orm import Session
            def get_db():
                db = Session()
                try:
                    yield db
                finally:
                    db.close()
            def route(db=fastapi.Depends(get_db)): ...
            """,
            id="fastapi-module-attribute-depends",
        ),
        pytest.param(
            """
            from fastapi import Depends as D
            import sqlalchemy.orm as orm
            Factory = orm.sessionmaker()
            async def get_db():
                db = Factory()
                yield db
            def route(db=D(dependency=get_db)): ...
            """,
            """
            from fastapi import Depends as D
            import sqlalchemy.orm as orm
            Factory = orm.sessionmaker()
            async def get_db():
                db = Factory()
                try:
                    yield db
                finally:
                    db.close()
            def route(db=D(dependency=get_db)): ...
            """,
            id="sync-session-in-async-def-is-closed-without-await",
        ),
        pytest.param(
            """
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import sessionmaker
            Factory = sessionmaker(class_=AsyncSession)
            async def get_db():
                db = Factory()
                yield db
            def route(db=Depends(get_db)): ...
            """,
            """
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import sessionmaker
            Factory = sessionmaker(class_=AsyncSession)
            async def get_db():
                db = Factory()
                try:
                    yield db
                finally:
                    await db.close()
            def route(db=Depends(get_db)): ...
            """,
            id="sessionmaker-of-async-sessions",
        ),
        pytest.param(
            """
            import asyncpg
            from fastapi import Depends
            class Deps:
                @staticmethod
                async def conn():
                    c = await asyncpg.connect("postgresql://")
                    yield c
            def route(c=Depends(Deps.conn)): ...
            """,
            """
            import asyncpg
            from fastapi import Depends
            class Deps:
                @staticmethod
                async def conn():
                    c = await asyncpg.connect("postgresql://")
                    try:
                        yield c
                    finally:
                        await c.close()
            def route(c=Depends(Deps.conn)): ...
            """,
            id="awaited-connect-and-method-dependency",
        ),
        pytest.param(
            """
            def get_file():
                f = open("x")
                yield f
            def override():
                f = open("y")
                yield f
            def test_it(monkeypatch, app):
                monkeypatch.setitem(app.dependency_overrides, get_file, override)
            """,
            """
            def get_file():
                f = open("x")
                try:
                    yield f
                finally:
                    f.close()
            def override():
                f = open("y")
                try:
                    yield f
                finally:
                    f.close()
            def test_it(monkeypatch, app):
                monkeypatch.setitem(app.dependency_overrides, get_file, override)
            """,
            id="monkeypatched-override",
        ),
        pytest.param(
            """
            class Both:
                def close(self): ...
                async def aclose(self): ...
            def sync_dep():
                r = Both()
                yield r
            async def async_dep():
                r = Both()
                yield r
            app.dependency_overrides.update({sync_dep: async_dep})
            """,
            """
            class Both:
                def close(self): ...
                async def aclose(self): ...
            def sync_dep():
                r = Both()
                try:
                    yield r
                finally:
                    r.close()
            async def async_dep():
                r = Both()
                try:
                    yield r
                finally:
                    await r.aclose()
            app.dependency_overrides.update({sync_dep: async_dep})
            """,
            id="project-class-with-close-and-aclose",
        ),
        pytest.param(
            """
            import httpx
            from fastapi import Depends
            class Client(httpx.AsyncClient):
                pass
            async def dep():
                c = Client()
                try:
                    yield c
                    c.log("ok")
                    await c.aclose()
                except Exception:
                    await c.aclose()
                    raise
            def route(c=Depends(dep)): ...
            """,
            """
            import httpx
            from fastapi import Depends
            class Client(httpx.AsyncClient):
                pass
            async def dep():
                c = Client()
                try:
                    yield c
                    c.log("ok")
                except Exception:
                    raise
                finally:
                    await c.aclose()
            def route(c=Depends(dep)): ...
            """,
            id="release-on-both-paths-becomes-one-finally",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(_d(before), _d(after), **SELECT)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "from mylib import Depends\nimport httpx\ndef d():\n    c = httpx.Client()\n    yield c\nx = Depends(d)\n",
            id="depends-that-is-not-fastapi",
        ),
        pytest.param(
            "import httpx\ndef d():\n    c = httpx.Client()\n    yield c\n",
            id="generator-that-is-not-a-dependency",
        ),
        pytest.param(
            "from fastapi import Depends\nimport httpx\ndef d():  # asyncfix: ignore[dependency_close]\n"
            "    c = httpx.Client()\n    yield c\nx = Depends(d)\n",
            id="opt-out-on-the-def",
        ),
        pytest.param(
            "from fastapi import Depends\nclass Plain:\n    pass\ndef d():\n    p = Plain()\n    yield p\nx = Depends(d)\n",
            id="project-class-without-close",
        ),
        pytest.param(
            "from fastapi import Depends\nimport httpx\ndef d(c: httpx.Client):\n    yield c\nx = Depends(d)\n",
            id="resource-from-a-parameter",
        ),
    ],
)
def test_noop(source: str):
    assert check_noop(source, **SELECT) == []


def test_reports_with_locations_and_hints():
    source = _d("""
        from fastapi import Depends
        from vendor import Conn
        class AsyncOnly:
            async def aclose(self): ...
        def a():
            c = Conn()
            yield c
        def b():
            r = AsyncOnly()
            try:
                yield r
            except Exception:
                pass
        x = [Depends(a), Depends(b)]
        """)
    diagnostics = check_noop(source, **SELECT)
    assert [(d.line, d.column, d.code) for d in diagnostics] == [
        (6, 5, "DEP001"),
        (12, 5, "DEP002"),
        (9, 5, "DEP001"),
    ]
    assert "cannot tell how a Conn is released" in diagnostics[0].message
    assert "sync generator" in diagnostics[2].message
    assert all(d.hint for d in diagnostics)
    assert set(DependencyClose.CODES) == {d.code for d in diagnostics}


# -- the first pass, across files ---------------------------------------------------------------


def _write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_d(text))


PROJECT = {
    "pyproject.toml": "[tool.asyncfix]\n",
    "app/__init__.py": "",
    "app/database.py": """
        from sqlalchemy.orm import sessionmaker
        SessionLocal = sessionmaker()
        class Cache:
            async def aclose(self): ...
        """,
    "app/deps/__init__.py": "from .sessions import get_db, get_cache as cache\n",
    "app/deps/sessions.py": """
        from ..database import SessionLocal
        from app import database
        def get_db():
            db = SessionLocal()
            yield db
        async def get_cache():
            cache = database.Cache()
            yield cache
        def unused():
            db = SessionLocal()
            yield db
        """,
    "app/main.py": """
        from fastapi import Depends, FastAPI
        from app import deps
        from .deps import cache
        app = FastAPI()
        @app.get("/")
        def index(db=Depends(deps.get_db), c=Depends(cache)):
            return {}
        """,
}


def _scan_facts(root: Path):
    from asyncfix.codemods.engine import scan_source

    settings = Settings(codemods=("dependency_close",), root=str(root))
    per_file = {}
    for path in sorted(root.rglob("*.py")):
        _, facts = scan_source(path.read_bytes(), str(path), settings)
        if "dependency_close" in facts:
            per_file[str(path)] = facts["dependency_close"]
    return DependencyClose.combine(per_file, str(root))


def test_first_pass_resolves_imports_relative_imports_and_reexports(tmp_path: Path):
    _write(tmp_path, PROJECT)
    facts = _scan_facts(tmp_path)
    assert {"app.deps.get_db", "app.deps.cache"} <= facts["dependencies"]
    # through app/deps/__init__.py's re-exports, to where the functions are defined
    assert {"app.deps.sessions.get_db", "app.deps.sessions.get_cache"} <= facts["dependencies"]
    assert not any(name.endswith(".unused") for name in facts["dependencies"])
    assert facts["factories"]["app.database.SessionLocal"] == "sync"
    assert facts["classes"]["app.database.Cache"]["methods"] == {"aclose": "async"}


def test_cli_rewrites_a_dependency_named_in_another_file(tmp_path: Path):
    _write(tmp_path, PROJECT)
    sessions = tmp_path / "app" / "deps" / "sessions.py"
    alone = CliRunner().invoke(main, ["--check", str(sessions)])
    assert alone.exit_code == 0, alone.output  # alone, nothing says get_db is a dependency

    result = CliRunner().invoke(main, ["--apply", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sessions.read_text() == _d("""
        from ..database import SessionLocal
        from app import database
        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()
        async def get_cache():
            cache = database.Cache()
            try:
                yield cache
            finally:
                await cache.aclose()
        def unused():
            db = SessionLocal()
            yield db
        """)
    assert CliRunner().invoke(main, ["--check", str(tmp_path)]).exit_code == 0


def test_flat_layout_without_packages(tmp_path: Path):
    """``from database import get_db`` in an app run from its own folder (no __init__.py)."""
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "database.py": "import httpx\ndef get_db():\n    db = httpx.Client()\n    yield db\n",
            "main.py": "from fastapi import Security\nfrom database import get_db\nx = Security(get_db)\n",
        },
    )
    settings = Settings(codemods=("dependency_close",), root=str(tmp_path))
    files = [SourceFile(str(p), str(p)) for p in sorted(tmp_path.glob("*.py"))]
    results = {Path(r.path).name: r for r in run(files, settings, jobs=1)}
    assert results["main.py"].status == "unchanged"
    assert results["database.py"].status == "changed"
    assert b"    finally:\n        db.close()\n" in results["database.py"].new


def test_wants_asks_the_project_index(tmp_path: Path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/deps.py": "import httpx\ndef get():\n    c = httpx.Client()\n    yield c\n",
        },
    )
    path = str(tmp_path / "pkg" / "deps.py")
    source = (tmp_path / "pkg" / "deps.py").read_bytes()
    index = ProjectIndex(
        root=str(tmp_path),
        facts={"dependency_close": {"dependencies": frozenset({"pkg.deps.get"})}},
    )
    assert DependencyClose.wants(source, path, index)
    assert not DependencyClose.wants(source, path, ProjectIndex(root=str(tmp_path)))
    assert not DependencyClose.wants(b"x = 1\n", path, index)
    # a generator that yields nothing it created, outside a try: not even parsed with libcst
    assert not DependencyClose.wants(
        b"from fastapi import Depends\ndef get(x):\n    yield x\n", path, index
    )


# -- the runtime claim ------------------------------------------------------------------------

RUNTIME_APP = {
    "pyproject.toml": "",
    "leakapp/__init__.py": "",
    "leakapp/resources.py": """
        counts = {"opened": 0, "closed": 0}


        class Resource:
            def __init__(self):
                counts["opened"] += 1

            def close(self):
                counts["closed"] += 1


        class AsyncResource(Resource):
            async def aclose(self):
                await asyncio_sleep0()
                self.close()


        async def asyncio_sleep0():
            import asyncio

            await asyncio.sleep(0)
        """,
    "leakapp/deps.py": """
        from .resources import AsyncResource, Resource


        def get_resource():
            resource = Resource()
            yield resource


        async def get_async_resource():
            resource = AsyncResource()
            yield resource
        """,
    "leakapp/main.py": """
        from fastapi import Depends, FastAPI

        from . import deps

        app = FastAPI()


        @app.get("/ok")
        def ok(resource=Depends(deps.get_resource)):
            return {"ok": True}


        @app.get("/boom")
        def boom(resource=Depends(deps.get_resource)):
            raise RuntimeError("handler failed")


        @app.get("/async-ok")
        async def async_ok(resource=Depends(deps.get_async_resource)):
            return {"ok": True}


        @app.get("/async-boom")
        async def async_boom(resource=Depends(deps.get_async_resource)):
            raise RuntimeError("handler failed")
        """,
}
ROUTES = ("/ok", "/boom", "/async-ok", "/async-boom")


@pytest.fixture
def fresh_import(tmp_path: Path):
    """Import ``leakapp`` from tmp_path; forget it afterwards (and between the two imports)."""

    def forget() -> None:
        for name in [n for n in sys.modules if n == "leakapp" or n.startswith("leakapp.")]:
            del sys.modules[name]

    def load():
        forget()
        importlib.invalidate_caches()
        return importlib.import_module("leakapp.main"), importlib.import_module("leakapp.resources")

    sys.path.insert(0, str(tmp_path))
    yield load
    sys.path.remove(str(tmp_path))
    forget()


async def _requests(app, per_route: int) -> Dict[str, int]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    statuses: Dict[str, int] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=10) as client:
        for route in ROUTES:
            responses = await asyncio.gather(*(client.get(route) for _ in range(per_route)))
            statuses.update({f"{route} {r.status_code}": 0 for r in responses})
            for response in responses:
                statuses[f"{route} {response.status_code}"] += 1
    return statuses


def test_every_request_closes_what_its_dependency_opened(tmp_path: Path, fresh_import):
    _write(tmp_path, RUNTIME_APP)
    per_route = 5
    n = per_route * len(ROUTES)
    expected_statuses = {
        "/ok 200": per_route,
        "/boom 500": per_route,
        "/async-ok 200": per_route,
        "/async-boom 500": per_route,
    }

    main_module, resources = fresh_import()
    assert asyncio.run(_requests(main_module.app, per_route)) == expected_statuses
    assert resources.counts == {"opened": n, "closed": 0}, "the app should leak before the rewrite"

    result = CliRunner().invoke(main, ["--apply", str(tmp_path)])
    assert result.exit_code == 0, result.output
    deps = (tmp_path / "leakapp" / "deps.py").read_text()
    assert "finally:\n        resource.close()" in deps
    assert "finally:\n        await resource.aclose()" in deps

    main_module, resources = fresh_import()
    assert asyncio.run(_requests(main_module.app, per_route)) == expected_statuses
    assert resources.counts == {"opened": n, "closed": n}
    assert CliRunner().invoke(main, ["--check", str(tmp_path)]).exit_code == 0


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "from fastapi import Depends\nfrom pydantic_settings import BaseSettings\n"
            "class Settings(BaseSettings):\n    debug: bool = False\n"
            "def get_settings():\n    settings = Settings()\n    yield settings\nx = Depends(get_settings)\n",
            id="settings-object",
        ),
        pytest.param(
            "from typing import Generic, TypeVar\nfrom fastapi import Depends\nT = TypeVar('T')\n"
            "class Repo(Generic[T], object):\n    pass\n"
            "def get_repo():\n    repo = Repo()\n    yield repo\nx = Depends(get_repo)\n",
            id="generic-class",
        ),
        pytest.param(
            "import contextlib\nclass Tracker:\n    pass\nfrom vendor import Thing\n"
            "@contextlib.contextmanager\ndef track():\n    t = Thing()\n    try:\n        yield t\n"
            "    except Exception:\n        pass\n",
            id="context-manager-may-swallow-and-unknown-is-not-reported",
        ),
        pytest.param(
            "from fastapi import Depends\nimport httpx\ndef d():\n    with httpx.Client() as c:\n        yield c\n"
            "x = Depends(d)\n",
            id="with-statement",
        ),
    ],
)
def test_noop_without_diagnostics(source: str):
    assert check_noop(source, **SELECT) == []


@pytest.mark.skipif(
    "sqlalchemy_to_async" not in BY_NAME,
    reason="the SQLAlchemy codemod (issue 5) is not registered",
)
def test_the_sqlalchemy_codemod_after_it_makes_the_seed_an_async_with():
    """The registry runs this codemod first: its `finally: db.close()` is the canonical form the
    SQLAlchemy codemod turns into `async with` (REWRITE_TABLES section 3)."""
    out, _ = rewrite(SEED_PROBLEM, select=["dependency_close", "sqlalchemy_to_async"])
    assert "    async with SessionLocal() as db:\n        yield db\n" in out
    assert "db.close()" not in out and "Missing" not in out
