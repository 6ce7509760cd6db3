"""The cases of ``asyncfix --apply --migrate`` on whole apps (issue 17), one app per test file.

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

The cases are written once, here; ``tests/test_migrate_<app>.py`` imports those that hold for
its app and sets ``pytest_generate_tests = for_app(<app>)``. One file per app because every app
runs its suite up to three times in subprocesses (minutes): pytest-xdist's ``--dist loadfile``
keeps the tests of one file on one worker (so each app's copies, module-scoped fixtures, are
built once) and spreads the files over the workers. The harness's helpers (copies,
subprocesses, scans) live in ``tests/migrate_support.py``, unit-tested in
``tests/test_migrate_support.py``.

Cases marked ``@until_built`` are ``xfail(strict=True)`` for an app not in ``BUILT`` (its shape
waits for the ``--migrate`` implementation): when a property starts to hold, the strict xfail
fails, and the app goes into ``BUILT``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable, Tuple

import pytest
from migrate_support import (
    APPS,
    App,
    async_defs,
    async_engines,
    copy_app,
    outcome,
    passed,
    postgres_unavailable,
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


def until_built(case: Callable) -> Callable:
    """A claim of ``--migrate`` that holds only once the app's shape is built (see BUILT)."""
    case.until_built = True
    return case


def for_app(app: App) -> Callable[[pytest.Metafunc], None]:
    """The ``pytest_generate_tests`` of an app's test file: every case there runs on ``app``.

    Module-scoped, so the fixtures below (one copy per app and mode) are built once per file;
    the test ids are ``case[<app name>]``.
    """

    def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
        if "app" not in metafunc.fixturenames:
            return
        waits = getattr(metafunc.function, "until_built", False) and app not in BUILT
        marks = [pytest.mark.xfail(strict=True, reason=NOT_BUILT)] if waits else []
        metafunc.parametrize("app", [pytest.param(app, id=app.name, marks=marks)], scope="module")

    return pytest_generate_tests


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
def baseline(app: App, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"baseline-{app.name}"))
    return root, run_suite(root)


@pytest.fixture(scope="module")
def migrated(app: App, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"migrated-{app.name}"))
    process = run_asyncfix(root, "--apply", "--migrate")
    print(outcome(process))
    return root, process


@pytest.fixture(scope="module")
def plain(app: App, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess]:
    _require(app)
    root = copy_app(app, tmp_path_factory.mktemp(f"plain-{app.name}"))
    process = run_asyncfix(root, "--apply")
    print(outcome(process))
    return root, process


# --------------------------------------------------------------------------------------------
# Baseline: the sync apps are what they claim to be


def test_sync_app_suite_passes(app: App, baseline) -> None:
    root, process = baseline
    assert process.returncode == 0, outcome(process)
    assert passed(process) == app.tests, outcome(process)


def test_scan_finds_the_sync_sqlalchemy_of_the_sync_app(app: App, baseline) -> None:
    root, _ = baseline
    found = sync_sqlalchemy_uses(root, app)
    assert any("sync session class" in line for line in found), found
    assert any("create_engine(" in line for line in found), found


# --------------------------------------------------------------------------------------------
# --apply --migrate


def test_migrate_exits_without_failures(app: App, migrated) -> None:
    _, process = migrated
    # 2 would mean a usage error or a file asyncfix failed on; 1: diagnostics are reported.
    assert process.returncode in (0, 1), outcome(process)


@until_built
def test_migrated_app_suite_passes(app: App, migrated) -> None:
    root, _ = migrated
    # A suite passing on an app asyncfix left alone proves nothing.
    assert async_engines(root, app), "no async engine in the app code: nothing was migrated"
    process = run_suite(root)
    assert process.returncode == 0, outcome(process)
    # Every test still runs: none skipped for want of an async runner, none lost.
    assert passed(process) == app.tests, outcome(process)


@until_built
def test_migrate_leaves_no_sync_session_in_app_code(app: App, migrated) -> None:
    root, _ = migrated
    assert sync_sqlalchemy_uses(root, app) == []


@until_built
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


def test_migrated_cli_commands_run_one_after_another_on_asyncpg(
    app: App, migrated, tmp_path: Path
) -> None:
    assert app is POSTGRES, "a case of tests/test_migrate_postgres_app.py only"
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


def test_plain_apply_keeps_sync_defs(app: App, plain) -> None:
    root, process = plain
    assert process.returncode in (0, 1), outcome(process)
    before = sync_defs(APPS / app.name, app)
    after = sync_defs(root, app)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], outcome(process)


def test_plain_apply_fixes_or_reports_blocking_async_routes(app: App, plain) -> None:
    assert app.blocking, "a case of the apps that name blocking async routes only"
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


def test_plain_apply_suite_passes(app: App, plain) -> None:
    root, _ = plain
    process = run_suite(root)
    assert process.returncode == 0, outcome(process)
