"""``asyncfix --apply --migrate`` on whole apps (issue 17): their own suites pass before and after.

Each directory under ``tests/migrate_apps/`` is a self-contained sync project in one of the
shapes the issue names, with its own ``pyproject.toml`` and test suite (run as a real project
runs it: ``python -m pytest -q`` in a copy of the directory):

- ``tutorial``: the FastAPI SQL tutorial of 2019-2024 (``db: Session = Depends(get_db)``, two
  test modules with the ``override_get_db`` shape on in-memory SQLite + ``StaticPool``);
- ``sqlmodel_app``: the full-stack-template shape (``SessionDep`` alias, ``CurrentUser``,
  ``crud.py``, prestart scripts, alembic migrations, a conftest ``db`` fixture used by sync
  tests);
- ``repository_app``: a repository class holding a session, a ``@contextmanager`` session scope,
  services, an argparse CLI and a click CLI (commands split into `asyncio.run` of their body);
- ``postgres_app``: the tutorial shape on PostgreSQL through psycopg 3, on a throwaway cluster
  the app's conftest starts (skipped when PostgreSQL is not installed).

Per app, on copies in a temporary directory:

- baseline: the sync app's suite passes, and the static scan below finds its sync SQLAlchemy
  uses (so the scan can fail);
- ``--apply --migrate``: exits 0 or 1 with no failed file; the suite passes again with every
  test still run (none skipped for want of an async runner); the scan finds no sync ``Session``
  / ``sessionmaker`` / ``create_engine`` / ``.query(`` left in app code (scripts with a
  ``__main__`` guard, alembic and tests excepted: their own tests prove them); the summary names
  the async driver; sync tests using ``TestClient`` stay sync; a second run changes nothing;
- plain ``--apply`` (no ``--migrate``): the sync ``def`` functions of the app are left as they
  are (a sync route on a sync session is correct code), and the suite still passes.

The harness's helpers live in ``tests/migrate_support.py``; its checks are unit-tested on small
trees at the end of this module.

Tests marked ``xfail(strict=True)`` wait for the ``--migrate`` implementation: when a property
starts to hold, the strict xfail fails, and the mark goes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import pytest
from migrate_support import (
    APPS,
    REQUIREMENTS,
    App,
    async_defs,
    async_engines,
    client_tests,
    copy_app,
    outcome,
    passed,
    postgres_unavailable,
    requirements,
    run_asyncfix,
    run_python,
    run_suite,
    snapshot,
    sync_defs,
    sync_sqlalchemy_uses,
)

pytest.importorskip("sqlalchemy", minversion="2")
pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
pytest.importorskip("fastapi")

# Four apps, each run up to three times in a subprocess with asyncfix runs between: minutes.
pytestmark = pytest.mark.slow

NOT_BUILT = "--migrate not built for this shape yet"

TUTORIAL = App("tutorial", code=("sql_app",), tests=8, drivers=("aiosqlite",))
SQLMODEL = App(
    "sqlmodel_app",
    code=("app",),
    tests=28,
    drivers=("aiosqlite",),
    needs=("sqlmodel", "alembic"),
    blocking=("app/api/routes/items.py:read_item", "app/api/routes/utils.py:health_check"),
)
REPOSITORY = App("repository_app", code=("app",), tests=13, drivers=("aiosqlite",))
# psycopg 3 is sync and async under one URL scheme: keeping it is the least invasive choice.
POSTGRES = App(
    "postgres_app", code=("app",), tests=9, drivers=("psycopg", "asyncpg"), needs=("psycopg",)
)
ALL = (TUTORIAL, SQLMODEL, REPOSITORY, POSTGRES)
BUILT: Tuple[App, ...] = (
    TUTORIAL,
    SQLMODEL,
    REPOSITORY,
    POSTGRES,
)  # shapes --migrate converts: their xfail marks are gone


def _xfail(reason: str = NOT_BUILT):
    return pytest.mark.xfail(strict=True, reason=reason)


def _require(app: App) -> None:
    for module in app.needs:
        pytest.importorskip(module)
    if app is POSTGRES:  # the app's conftest skips every test in these cases, saying why
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# Fixtures: one copy per app and mode, shared by the tests that look at it


@pytest.fixture(scope="module")
def baseline(request, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    app = request.param
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"baseline-{app.name}"))
    return root, run_suite(root)


@pytest.fixture(scope="module")
def migrated(request, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    app = request.param
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"migrated-{app.name}"))
    process = run_asyncfix(root, "--apply", "--migrate")
    print(outcome(process))
    return root, process


@pytest.fixture(scope="module")
def plain(request, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    app = request.param
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"plain-{app.name}"))
    process = run_asyncfix(root, "--apply")
    print(outcome(process))
    return root, process


def _indirect(name: str, marks: Optional[Dict[str, Sequence]] = None, apps: Sequence[App] = ALL):
    return pytest.mark.parametrize(
        ("app", name),
        [
            pytest.param(app, app, id=app.name, marks=marks.get(app.name, ()) if marks else ())
            for app in apps
        ],
        indirect=[name],
    )


# --------------------------------------------------------------------------------------------
# Baseline: the sync apps are what they claim to be


@_indirect("baseline")
def test_sync_app_suite_passes(app: App, baseline) -> None:
    root, process = baseline
    assert process.returncode == 0, outcome(process)
    assert passed(process) == app.tests, outcome(process)


@_indirect("baseline")
def test_scan_finds_the_sync_sqlalchemy_of_the_sync_app(app: App, baseline) -> None:
    root, _ = baseline
    found = sync_sqlalchemy_uses(root, app)
    assert any("sync session class" in line for line in found), found
    assert any("create_engine(" in line for line in found), found


# --------------------------------------------------------------------------------------------
# --apply --migrate


@_indirect("migrated")
def test_migrate_exits_without_failures(app: App, migrated) -> None:
    _, process = migrated
    # 2 would mean a usage error or a file asyncfix failed on; 1: diagnostics are reported.
    assert process.returncode in (0, 1), outcome(process)


@_indirect("migrated", {app.name: [_xfail()] for app in ALL if app not in BUILT})
def test_migrated_app_suite_passes(app: App, migrated) -> None:
    root, _ = migrated
    # A suite passing on an app asyncfix left alone proves nothing.
    assert async_engines(root, app), "no async engine in the app code: nothing was migrated"
    process = run_suite(root)
    assert process.returncode == 0, outcome(process)
    # Every test still runs: none skipped for want of an async runner, none lost.
    assert passed(process) == app.tests, outcome(process)


@_indirect("migrated", {app.name: [_xfail()] for app in ALL if app not in BUILT})
def test_migrate_leaves_no_sync_session_in_app_code(app: App, migrated) -> None:
    root, _ = migrated
    assert sync_sqlalchemy_uses(root, app) == []


@_indirect("migrated", {app.name: [_xfail()] for app in ALL if app not in BUILT})
def test_migrate_is_a_fixed_point(app: App, migrated, tmp_path: Path) -> None:
    first, _ = migrated
    root = tmp_path / app.name
    shutil.copytree(first, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    before = snapshot(root)
    process = run_asyncfix(root, "--apply", "--migrate")
    assert process.returncode in (0, 1), outcome(process)
    assert snapshot(root) == before, outcome(process)
    # The fixed point is the migrated app, not the untouched one.
    assert snapshot(root) != snapshot(APPS / app.name)


# One process, one command after another, on a driver whose connections belong to a loop:
# each split command runs in its own asyncio.run, so it must leave no pooled connection behind.
# The app's own suite runs on psycopg, whose async connections serve any loop; here the
# migrated app runs on asyncpg (the deployment's choice of driver: the one string changed).
_CLI_ON_ASYNCPG = """
import os

from tests.postgresql import Cluster

cluster = Cluster()
try:
    os.environ["BOOKSHELF_DATABASE_URL"] = url = cluster.start()
    from sqlalchemy import create_engine

    from app import models
    from app.database import Base

    tables = create_engine(url)  # a sync engine of the test's own: psycopg
    Base.metadata.create_all(tables)
    tables.dispose()
    from tests.test_cli import test_commands_run_one_after_another_in_one_process

    test_commands_run_one_after_another_in_one_process()
    print("commands ran")
finally:
    cluster.stop()
"""


@_indirect("migrated", apps=[POSTGRES])
def test_migrated_cli_commands_run_one_after_another_on_asyncpg(
    app: App, migrated, tmp_path: Path
) -> None:
    pytest.importorskip("asyncpg")
    first, _ = migrated
    root = tmp_path / app.name
    shutil.copytree(first, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    database = root / "app" / "database.py"
    source = database.read_text()
    assert 'drivername="postgresql+psycopg"' in source, source
    database.write_text(source.replace("postgresql+psycopg", "postgresql+asyncpg"))
    process = run_python(root, _CLI_ON_ASYNCPG)
    assert process.returncode == 0 and "commands ran" in process.stdout, outcome(process)


# --------------------------------------------------------------------------------------------
# Plain --apply: a sync route on a sync session is correct and stays


@_indirect("plain")
def test_plain_apply_keeps_sync_defs(app: App, plain) -> None:
    root, process = plain
    assert process.returncode in (0, 1), outcome(process)
    before = sync_defs(APPS / app.name, app)
    after = sync_defs(root, app)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], outcome(process)


@_indirect("plain", apps=[app for app in ALL if app.blocking])
def test_plain_apply_fixes_or_reports_blocking_async_routes(app: App, plain) -> None:
    root, process = plain
    before = async_defs(APPS / app.name, app)
    after = async_defs(root, app)
    left = []
    for name in app.blocking:
        path, _ = name.split(":")
        if name not in after:  # made sync (demoted) or renamed: it changed
            continue
        source, first, last = after[name]  # --apply reports lines of the file as written
        reported = [
            line
            for line in process.stdout.splitlines()
            if line.startswith(f"{path}:") and first <= int(line.split(":")[1]) <= last
        ]
        if source == before[name][0] and not reported:
            left.append(name)
    assert left == [], outcome(process)


@_indirect("plain")
def test_plain_apply_suite_passes(app: App, plain) -> None:
    root, _ = plain
    process = run_suite(root)
    assert process.returncode == 0, outcome(process)


# --------------------------------------------------------------------------------------------
# The harness's own checks, on small trees: they flag sync code and accept the async forms


def _tree(root: Path, files: Dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


SCAN_APP = App("scan", code=("app",), tests=0, drivers=())


def test_scan_flags_every_sync_form(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/db.py": (
                "import sqlalchemy as sa\n"
                "from sqlalchemy.orm import Session as S, sessionmaker\n"
                "from sqlmodel import Session\n"
                "engine = sa.create_engine('sqlite://')\n"
                "Local = sessionmaker(bind=engine)\n"
                "def get(db: S):\n"
                "    q = db.query(int)\n"
                "    with Session(engine) as s:\n"
                "        return q\n"
            )
        },
    )
    assert sync_sqlalchemy_uses(root, SCAN_APP) == [
        "app/db.py:4: sync sa.create_engine(",
        "app/db.py:5: sessionmaker( of sync Session",
        "app/db.py:6: sync session class S",
        "app/db.py:7: db.query( (no AsyncSession.query)",
        "app/db.py:8: sync session class Session",
    ]
    assert async_engines(root, SCAN_APP) == []


def test_scan_accepts_the_async_forms_scripts_and_tests(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/db.py": (
                "from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine\n"
                "from sqlalchemy.orm import sessionmaker\n"
                "from sqlmodel.ext.asyncio.session import AsyncSession as SQLModelAsyncSession\n"
                "engine = create_async_engine('sqlite+aiosqlite://')\n"
                "Local = sessionmaker(bind=engine, class_=AsyncSession)\n"
                "async def get(db: SQLModelAsyncSession):\n"
                "    return await db.exec(1)\n"
            ),
            "app/prestart.py": (
                "from sqlmodel import Session, create_engine\n"
                "def main():\n"
                "    with Session(create_engine('sqlite://')):\n"
                "        pass\n"
                "if __name__ == '__main__':\n"
                "    main()\n"
            ),
            "app/alembic/env.py": "from sqlalchemy import create_engine\ncreate_engine('x')\n",
            "tests/test_db.py": "from sqlalchemy.orm import Session\nSession()\n",
        },
    )
    assert sync_sqlalchemy_uses(root, SCAN_APP) == []
    assert async_engines(root, SCAN_APP) == ["app/db.py:4"]


def test_sync_defs_and_client_tests_by_kind(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/main.py": (
                "def route():\n    def inner(): pass\n"
                "async def handler():\n    def helper(): pass\n"
                "class Repo:\n    def get(self): pass\n"
            ),
            "tests/test_api.py": (
                "def test_sync(client):\n    pass\n"
                "async def test_async(client):\n    pass\n"
                "async def test_awaits(client, db):\n    def f(): pass\n    await db.get(1)\n"
                "def test_other():\n    pass\n"
            ),
        },
    )
    assert sorted(sync_defs(root, SCAN_APP)) == [
        "app/main.py:Repo.get",
        "app/main.py:handler.helper",
        "app/main.py:route",
        "app/main.py:route.inner",
    ]
    assert client_tests(root, "def") == ["tests/test_api.py:test_sync"]
    assert client_tests(root, "async def") == [
        "tests/test_api.py:test_async",
        "tests/test_api.py:test_awaits",
    ]
    assert client_tests(root, "needless async") == ["tests/test_api.py:test_async"]


@pytest.mark.parametrize(
    ("last_line", "count"),
    [
        ("8 passed, 1 warning in 6.66s", 8),
        ("7 passed, 1 skipped in 1.0s", -1),
        ("1 failed, 7 passed in 1.0s", -1),
        ("no tests ran in 0.01s", -1),
    ],
)
def test_passed_counts_only_a_clean_run(last_line: str, count: int) -> None:
    process = subprocess.CompletedProcess([], 0, stdout=f"....\n{last_line}\n", stderr="")
    assert passed(process) == count


def test_requirements_read_from_the_summary() -> None:
    stderr = (
        "asyncfix: 9 files scanned, 5 rewritten, 4 unchanged, 0 failed; 0 diagnostics\n"
        f"{REQUIREMENTS}aiosqlite, greenlet\n"
    )
    process = subprocess.CompletedProcess([], 0, stdout="", stderr=stderr)
    assert requirements(process) == ["aiosqlite", "greenlet"]
    assert requirements(subprocess.CompletedProcess([], 0, stdout="", stderr="")) == []
