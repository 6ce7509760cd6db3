import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, create_engine, select

from app.backend_pre_start import init
from app.core.db import engine
from app.models import User

PROJECT = Path(__file__).resolve().parents[2]


def run_module(module: str, database: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, APP_SQLITE_PATH=str(database), PYTHONPATH=str(PROJECT))
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_init_successful_connection() -> None:
    init(engine)  # returns at the first try when the database answers


def test_backend_pre_start_script(tmp_path: Path) -> None:
    process = run_module("app.backend_pre_start", tmp_path / "fresh.db")
    assert process.returncode == 0, process.stderr
    assert "Service finished initializing" in process.stderr


def test_initial_data_script_creates_the_superuser(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    for _ in range(2):  # idempotent: the second run finds the superuser
        process = run_module("app.initial_data", database)
        assert process.returncode == 0, process.stderr
        assert "Initial data created" in process.stderr

    check = create_engine(f"sqlite:///{database}")
    with Session(check) as session:
        users = session.exec(select(User)).all()
    check.dispose()
    assert [user.email for user in users] == ["admin@example.com"]
    assert users[0].is_superuser


def test_prestart_sh_migrates_with_alembic(tmp_path: Path) -> None:
    # scripts/prestart.sh as the container runs it: the project's interpreter and its alembic
    # first on PATH.
    database = tmp_path / "prestart.db"
    bindir = os.path.dirname(sys.executable)
    env = dict(
        os.environ,
        APP_SQLITE_PATH=str(database),
        PYTHONPATH=str(PROJECT),
        PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    process = subprocess.run(
        ["bash", "scripts/prestart.sh"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Running upgrade  -> e2412789c190" in process.stderr

    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        emails = connection.execute('SELECT email FROM "user"').fetchall()
    assert revision == "e2412789c190"
    assert emails == [("admin@example.com",)]
