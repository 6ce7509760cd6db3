"""sqlalchemy_to_async converts a shared engine with every use of it, or not at all (issue 15).

The failure this guards against: on a FastAPI app with async routes taking a sync session, the
engine became ``create_async_engine(settings.db.uri)`` while a security helper, CLI commands and
an init function kept using it synchronously: the app no longer imported, 0 of its tests
passed, and asyncfix exited 0.

One small multi-module app, in two variants, with its own test suite run in a subprocess before
and after ``asyncfix --apply``:

- *blocked*: a sync security helper does ``with Session(engine)``, a CLI command and an init
  function use the engine synchronously. Nothing about the engine changes, the app's suite still
  passes, and a diagnostic on the engine's line names the uses that kept it sync.
- *convertible*: the same app written so that every use can become async (the helper and the
  CLI are coroutines, the tables are created at module level of the app). Everything converts,
  including the settings-derived URL, and the suite passes after the rewrite too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest
from conftest import GOLDEN, rewrite

pytest.importorskip("sqlalchemy", minversion="2")
pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
pytest.importorskip("fastapi")

from asyncfix.cli import main as cli_main  # noqa: E402
from asyncfix.codemods.engine import CHANGED, Settings, run  # noqa: E402
from asyncfix.codemods.files import discover  # noqa: E402
from asyncfix.codemods.sqlalchemy_to_async import SqlalchemyToAsync  # noqa: E402

SETTINGS = """\
import os


class Settings:
    database_url = os.environ.get("APP_DATABASE_URL", "sqlite:///./app.db")


settings = Settings()
"""

MODELS = """\
from sqlalchemy import Column, Integer, String

from database import Base


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    name = Column(String, unique=True)
    token = Column(String, unique=True)
"""

DATABASE_BLOCKED = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base

from settings import settings

engine = create_engine(settings.database_url, connect_args={"check_same_thread": False})
Base = declarative_base()


def init_db():
    Base.metadata.create_all(bind=engine)
"""

DATABASE_CONVERTIBLE = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base

from settings import settings

engine = create_engine(settings.database_url, connect_args={"check_same_thread": False})
Base = declarative_base()
"""

SECURITY_BLOCKED = """\
from sqlalchemy.orm import Session

from database import engine
from models import User


def user_for_token(token: str):
    with Session(engine) as session:
        return session.query(User).filter(User.token == token).first()
"""

SECURITY_CONVERTIBLE = """\
from sqlalchemy.orm import Session

from database import engine
from models import User


async def user_for_token(token: str):
    with Session(engine) as session:
        return session.query(User).filter(User.token == token).first()
"""

MAIN_BLOCKED = """\
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.orm import Session

import database
import security
from database import engine
from models import User

database.init_db()

app = FastAPI()


def get_session():
    with Session(engine) as session:
        yield session


@app.post("/users")
async def create_user(name: str, session: Session = Depends(get_session)):
    user = User(name=name, token=f"t-{name}")
    session.add(user)
    session.commit()
    session.refresh(user)
    return {"id": user.id, "name": user.name}


@app.get("/users/count")
async def count_users(session: Session = Depends(get_session)):
    return {"count": session.query(User).count()}


@app.get("/me")
async def me(token: str):
    user = security.user_for_token(token)
    if user is None:
        raise HTTPException(status_code=401, detail="bad token")
    return {"name": user.name}
"""

MAIN_CONVERTIBLE = MAIN_BLOCKED.replace(
    "database.init_db()\n", "database.Base.metadata.create_all(bind=engine)\n"
).replace(
    "    user = security.user_for_token(token)\n",
    "    user = await security.user_for_token(token)\n",
)

CLI_BLOCKED = """\
import sys

from sqlalchemy.orm import Session

from database import engine
from models import User


def add_user(name: str):
    with Session(engine) as session:
        session.add(User(name=name, token=f"t-{name}"))
        session.commit()


if __name__ == "__main__":
    add_user(sys.argv[1])
"""

CLI_CONVERTIBLE = """\
import asyncio
import sys

from sqlalchemy.orm import Session

from database import engine
from models import User


async def add_user(name: str):
    with Session(engine) as session:
        session.add(User(name=name, token=f"t-{name}"))
        session.commit()


if __name__ == "__main__":
    asyncio.run(add_user(sys.argv[1]))
"""

# The app's own tests: the routes, the security helper, the CLI run as a user runs it.
APP_TESTS = """\
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client():
    from main import app

    with TestClient(app) as client:
        yield client


def test_create_user_and_log_in(client):
    response = client.post("/users", params={"name": "ann"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "ann"
    assert client.get("/me", params={"token": "t-ann"}).json() == {"name": "ann"}
    assert client.get("/me", params={"token": "nope"}).status_code == 401


def test_count(client):
    assert client.get("/users/count").json()["count"] >= 1


def test_cli_adds_a_user(client):
    subprocess.run([sys.executable, "cli.py", "bob"], cwd=ROOT, check=True, timeout=60)
    assert client.get("/me", params={"token": "t-bob"}).json() == {"name": "bob"}
"""


def _app(folder: Path, convertible: bool) -> Path:
    files = {
        "settings.py": SETTINGS,
        "models.py": MODELS,
        "database.py": DATABASE_CONVERTIBLE if convertible else DATABASE_BLOCKED,
        "security.py": SECURITY_CONVERTIBLE if convertible else SECURITY_BLOCKED,
        "main.py": MAIN_CONVERTIBLE if convertible else MAIN_BLOCKED,
        "cli.py": CLI_CONVERTIBLE if convertible else CLI_BLOCKED,
        "tests/__init__.py": "",
        "tests/test_app.py": APP_TESTS,
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def _files(folder: Path) -> Dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def _suite(folder: Path) -> subprocess.CompletedProcess:
    for stale in folder.glob("*.db"):
        stale.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("APP_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _apply(folder: Path, *options: str):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli_main, ["--apply", *options, str(folder)])
    assert result.exit_code in (0, 1), result.output
    return result


def _check(folder: Path, *options: str):
    from click.testing import CliRunner

    return CliRunner().invoke(cli_main, ["--check", *options, str(folder)])


def test_a_sync_use_of_the_engine_keeps_the_engine_sync_by_default(tmp_path):
    # Without --migrate only what blocks the loop is fixed: the async routes on the sync session
    # become `def` (the blocking plan), the engine and every sync use of it stay as they are.
    app = _app(tmp_path / "app", convertible=False)
    before = _suite(app)
    assert before.returncode == 0, before.stdout + before.stderr
    original = _files(app)

    result = _apply(app)
    after_files = _files(app)
    for name in ("database.py", "security.py", "cli.py", "models.py", "settings.py"):
        assert after_files[name] == original[name], name
    for text in after_files.values():
        assert "create_async_engine" not in text and "AsyncSession" not in text
        assert "async_sessionmaker" not in text
    assert "async def create_user" not in after_files["main.py"]
    assert ": SQLA008 " not in result.output

    after = _suite(app)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "3 passed" in after.stdout


def test_with_migrate_the_sync_uses_become_async_with_the_engine(tmp_path):
    # --migrate: the sync helper opening a Session, the init function creating the tables and
    # the CLI become async with the engine (the CLI's __main__ runs `asyncio.run(...)`).
    app = _app(tmp_path / "app", convertible=False)
    result = _apply(app, "--migrate")
    assert ": SQLA008 " not in result.output, result.output
    files = _files(app)
    assert "create_async_engine(" in files["database.py"]
    assert (
        "async def init_db" in files["database.py"]
        and "await conn.run_sync(" in files["database.py"]
    )
    assert "async def user_for_token" in files["security.py"]
    assert "asyncio.run(add_user(sys.argv[1]))" in files["cli.py"]

    after = _suite(app)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "3 passed" in after.stdout

    snapshot = _files(app)
    _apply(app, "--migrate")
    assert _files(app) == snapshot  # one --migrate run is a fixed point


def test_when_every_use_converts_everything_converts_and_the_suite_still_passes(tmp_path):
    app = _app(tmp_path / "app", convertible=True)
    before = _suite(app)
    assert before.returncode == 0, before.stdout + before.stderr

    result = _apply(app)
    assert "aiosqlite" in result.output and "greenlet" in result.output
    files = _files(app)
    assert (
        'engine = create_async_engine(\n    make_url(settings.database_url).set(drivername="sqlite+aiosqlite"),'
        in files["database.py"]
    ), files["database.py"]
    assert (
        "async with AsyncSession(engine, expire_on_commit=False) as session:"
        in files["security.py"]
    )
    assert "return await session.scalar(" in files["security.py"]
    assert "async with AsyncSession(engine, expire_on_commit=False) as session:" in files["cli.py"]
    assert "await session.commit()" in files["cli.py"]
    assert "async def get_session():" in files["main.py"]
    assert "await conn.run_sync(database.Base.metadata.create_all)" in files["main.py"]
    assert "SQLA0" not in result.output, result.output

    after = _suite(app)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "3 passed" in after.stdout

    snapshot = _files(app)
    _apply(app)
    assert _files(app) == snapshot
    check = _check(app)
    assert "SQLA0" not in check.output, check.output


# -- the decision, module by module --------------------------------------------------------------


# The SQLAlchemy conversion and what it relies on (the await machinery, dependency clean-up);
# the other codemods (e.g. the fallbacks for blocking code that stays sync) are not under test here.
SELECT = ("await_coroutines", "dependency_close", "sqlalchemy_to_async")


def _project(tmp_path: Path, files: Dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    found, errors = discover([str(tmp_path)], ())
    assert not errors
    from conftest import DEFAULT_SETTINGS

    settings = Settings(SELECT, DEFAULT_SETTINGS.black_mode, root=str(tmp_path))
    results = list(run(found, settings, jobs=1))
    changed = {Path(r.path).name: r.new.decode() for r in results if r.status == CHANGED}
    diagnostics = [
        f"{Path(r.path).name}:{d.line}: {d.code} {d.message}"
        for r in results
        for d in r.diagnostics
    ]
    return changed, diagnostics


ROUTE = """\
    from fastapi import Depends, FastAPI
    from sqlalchemy.orm import Session

    from db import get_db

    app = FastAPI()


    @app.get("/")
    async def index(db: Session = Depends(get_db)):
        return db.execute("SELECT 1").scalar()
"""

DB = """\
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite:///./x.db")
    SessionLocal = sessionmaker(bind=engine)


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
"""


def test_every_use_convertible_converts(tmp_path):
    changed, diagnostics = _project(tmp_path, {"db.py": DB, "main.py": ROUTE})
    assert "create_async_engine" in changed["db.py"] and "async_sessionmaker" in changed["db.py"]
    assert not [d for d in diagnostics if "SQLA" in d]


@pytest.mark.parametrize(
    "script, why",
    [
        ("from db import engine\n\nprint(engine.url)\n", "`engine.url` is used"),
        (
            "from db import engine\nimport alembic_like\n\nalembic_like.run(engine)\n",
            "`engine` is passed to `alembic_like.run()`",
        ),
        (
            "import db\n\nwith db.SessionLocal() as s:\n    s.execute('SELECT 1')\n",
            "`with db.SessionLocal()` at module level",
        ),
        (
            "from db import SessionLocal\n\nsession = SessionLocal()\n",
            "`SessionLocal()` outside a dependency or `with` block at module level",
        ),
        (
            "from sqlalchemy.orm import Session\nfrom db import engine\n\n\ndef job():\n    with Session(engine) as s:\n        s.commit()\n",
            "`with Session(engine)` in sync `job`, which stays sync",
        ),
    ],
)
def test_one_unconvertible_use_in_another_module_blocks_everything(tmp_path, script, why):
    changed, diagnostics = _project(tmp_path, {"db.py": DB, "main.py": ROUTE, "script.py": script})
    assert changed == {}
    closure = [d for d in diagnostics if "SQLA008" in d]
    assert len(closure) == 1 and closure[0].startswith(
        "db.py:4: SQLA008 the engine `engine` stays sync: script.py:"
    )
    assert why in closure[0], closure[0]


def test_a_session_function_that_cannot_become_async_blocks_everything(tmp_path):
    helper = """\
        import functools

        from sqlalchemy.orm import Session


        @functools.lru_cache
        def cached(db: Session):
            return db.execute("SELECT 1").scalar()
    """
    changed, diagnostics = _project(tmp_path, {"db.py": DB, "main.py": ROUTE, "helper.py": helper})
    assert changed == {}
    assert any(
        d.startswith("helper.py:7: SQLA002 `cached` takes a Session but cannot become async")
        for d in diagnostics
    )
    assert any(d.startswith("db.py:4: SQLA008") and "helper.py:7" in d for d in diagnostics)


def test_a_settings_url_without_evidence_of_its_driver_blocks_everything(tmp_path):
    db = DB.replace('create_engine("sqlite:///./x.db")', "create_engine(settings.url)").replace(
        "from sqlalchemy.orm import sessionmaker\n",
        "from sqlalchemy.orm import sessionmaker\n    from config import settings\n",
    )
    changed, diagnostics = _project(tmp_path, {"db.py": db, "main.py": ROUTE})
    assert changed == {}
    assert any("SQLA003" in d and "settings.url" in d for d in diagnostics)
    assert any(d.startswith("db.py:5: SQLA008") for d in diagnostics)


# -- residual problems of async code, reported whenever seen -------------------------------------


def test_query_on_an_async_session_is_reported():
    source = textwrap.dedent("""\
        from sqlalchemy.ext.asyncio import AsyncSession


        async def route(db: AsyncSession):
            return db.query(User).all()
        """)
    out, diagnostics = rewrite(source, select=SELECT)
    assert out == source
    assert [d.code for d in diagnostics] == ["SQLA009"]


def test_sync_driver_url_on_an_async_engine_is_reported():
    source = 'from sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine("postgresql://u@h/db")\n'
    out, diagnostics = rewrite(source, select=SELECT)
    assert out == source
    assert [(d.code, d.line) for d in diagnostics] == [("SQLA010", 3)]
    assert "postgresql+asyncpg" in diagnostics[0].hint


def test_sync_session_on_an_async_engine_in_another_module_is_reported(tmp_path):
    db = """\
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///./x.db")
    """
    helper = """\
        from sqlalchemy.orm import Session, sessionmaker

        from db import engine

        Maker = sessionmaker(bind=engine)


        def job():
            with Session(engine) as s:
                s.commit()
    """
    changed, diagnostics = _project(tmp_path, {"db.py": db, "helper.py": helper})
    assert changed == {}
    assert sorted(d for d in diagnostics if "SQLA011" in d) == [
        "helper.py:5: SQLA011 a sync Session on `engine`, an async engine",
        "helper.py:9: SQLA011 a sync Session on `engine`, an async engine",
    ]


def test_new_codes_are_explained():
    for code in ("SQLA008", "SQLA009", "SQLA010", "SQLA011"):
        assert code in SqlalchemyToAsync.CODES


def test_refusal_golden_exists():
    assert (GOLDEN / "sqlalchemy_to_async" / "migrate" / "closure_refused.before").is_dir()


def test_a_query_with_no_select_twin_in_another_module_blocks_everything(tmp_path):
    crud = """\
        from sqlalchemy.orm import Session


        def everyone(db: Session):
            return db.query(User).populate_existing().all()
    """
    changed, diagnostics = _project(tmp_path, {"db.py": DB, "main.py": ROUTE, "crud.py": crud})
    assert changed == {}
    assert any(d.startswith("crud.py:5: SQLA001 `Query.populate_existing()`") for d in diagnostics)
    assert any(d.startswith("db.py:4: SQLA008") and "crud.py:5" in d for d in diagnostics)


def test_a_decorated_session_fixture_blocks_everything(tmp_path):
    conftest = """\
        import pytest
        from sqlalchemy.orm import Session

        from db import engine


        @pytest.fixture
        def session():
            with Session(engine) as session:
                yield session
    """
    changed, diagnostics = _project(
        tmp_path, {"db.py": DB, "main.py": ROUTE, "conftest.py": conftest}
    )
    assert changed == {}
    assert any(d.startswith("db.py:4: SQLA008") and "conftest.py:9" in d for d in diagnostics)


def test_a_parameter_named_like_the_engine_is_not_a_use(tmp_path):
    db = DB + """
    def make_session(engine):
        return engine
"""
    changed, diagnostics = _project(tmp_path, {"db.py": db, "main.py": ROUTE})
    assert "create_async_engine" in changed["db.py"]
    assert not [d for d in diagnostics if "SQLA" in d]
