"""sqlalchemy_to_async under ``--migrate`` (issue 17), and the default-mode rule it sits beside.

Goldens in ``before_after/sqlalchemy_to_async/migrate/`` are rewritten with every codemod and
``options["migrate"]`` (what ``asyncfix --apply --migrate`` does), compared byte for byte, and
must be fixed points of that run. Without ``--migrate`` the same inputs come out unchanged: a sync
``def`` route on a sync ``Session`` runs in FastAPI's threadpool and blocks nothing.

``pytest --regen-goldens`` rewrites the expected files from the current output, on purpose.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from asyncfix.codemods.config import asyncfix_options, load_pyproject
from asyncfix.codemods.engine import CHANGED, FAILED, Settings, run, transform_standalone
from asyncfix.codemods.files import discover
from conftest import DEFAULT_SETTINGS, GOLDEN

MIGRATE_DIR = GOLDEN / "sqlalchemy_to_async" / "migrate"
MIGRATE = dataclasses.replace(DEFAULT_SETTINGS, options={"migrate": True})
SINGLE = sorted(MIGRATE_DIR.glob("*.before.py"))
PROJECTS = sorted(p for p in MIGRATE_DIR.glob("*.before") if p.is_dir())


def _case_id(path: Path) -> str:
    return path.name


def _lines(diagnostics, prefix: str = "") -> List[str]:
    return [f"{prefix}{d.line}:{d.column}: {d.code} {d.message}" for d in diagnostics]


def migrate_rewrite(
    source: str, path: str = "t.py", settings: Settings = MIGRATE
) -> Tuple[str, list]:
    outcome = transform_standalone(source.encode(), path, settings)
    return outcome.new.decode(), outcome.diagnostics


def _run_project(folder: Path, settings: Settings) -> Tuple[Dict[str, bytes], List[str]]:
    files, errors = discover([str(folder)], ())
    assert not errors
    # the project's own `[tool.asyncfix]` (async-driver), as the command line reads it
    declared = asyncfix_options(load_pyproject(str(folder)))
    settings = dataclasses.replace(
        settings, root=str(folder), options={**settings.options, **declared}
    )
    results = list(run(files, settings, jobs=1))
    assert not [r for r in results if r.status == FAILED], [r.error for r in results]
    outputs, diagnostics = {}, []
    for result in results:
        relative = Path(result.path).relative_to(folder.resolve()).as_posix()
        outputs[relative] = (
            result.new if result.status == CHANGED else Path(result.path).read_bytes()
        )
        diagnostics.extend(_lines(result.diagnostics, f"{relative}:"))
    return outputs, diagnostics


def _tree(folder: Path) -> Dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def test_migrate_goldens_exist():
    assert SINGLE and PROJECTS


@pytest.mark.parametrize("before", SINGLE, ids=_case_id)
def test_migrate_golden(before: Path, regen: bool):
    after = before.with_name(before.name.replace(".before.py", ".after.py"))
    expected_diagnostics = before.with_name(before.name.replace(".before.py", ".diagnostics"))
    outcome = transform_standalone(before.read_bytes(), f"migrate/{before.name}", MIGRATE)
    actual = _lines(outcome.diagnostics)
    if regen:
        after.write_bytes(outcome.new)
        if actual:
            expected_diagnostics.write_text("\n".join(actual) + "\n")
        elif expected_diagnostics.exists():
            expected_diagnostics.unlink()
    assert outcome.new == after.read_bytes()
    assert actual == (
        expected_diagnostics.read_text().splitlines() if expected_diagnostics.exists() else []
    )
    compile(outcome.new, str(after), "exec")
    again = transform_standalone(outcome.new, f"migrate/{after.name}", MIGRATE)
    assert again.new == outcome.new, "one --migrate run is not a fixed point"


@pytest.mark.parametrize("before", PROJECTS, ids=_case_id)
def test_migrate_golden_project(before: Path, regen: bool):
    after = before.with_name(before.name[: -len(".before")] + ".after")
    expected_diagnostics = before.with_name(before.name[: -len(".before")] + ".diagnostics")
    outputs, diagnostics = _run_project(before, MIGRATE)
    if regen:
        for relative, data in outputs.items():
            (after / relative).parent.mkdir(parents=True, exist_ok=True)
            (after / relative).write_bytes(data)
        if diagnostics:
            expected_diagnostics.write_text("\n".join(diagnostics) + "\n")
        elif expected_diagnostics.exists():
            expected_diagnostics.unlink()
    assert outputs == _tree(after)
    assert diagnostics == (
        expected_diagnostics.read_text().splitlines() if expected_diagnostics.exists() else []
    )


@pytest.mark.parametrize("before", PROJECTS, ids=_case_id)
def test_migrate_golden_project_is_a_fixed_point(before: Path):
    after = before.with_name(before.name[: -len(".before")] + ".after")
    for path, data in _tree(after).items():
        compile(data, path, "exec")
    outputs, _ = _run_project(after, MIGRATE)
    assert outputs == _tree(after)


# -- the default-mode rule: sync routes on a sync Session stay as they are ---------------------


@pytest.mark.parametrize("before", SINGLE, ids=_case_id)
def test_without_migrate_sync_routes_stay(before: Path):
    source = before.read_bytes()
    outcome = transform_standalone(source, f"migrate/{before.name}", DEFAULT_SETTINGS)
    assert outcome.new == source
    assert not [d for d in outcome.diagnostics if d.code.startswith("SQLA")]


@pytest.mark.parametrize("before", PROJECTS, ids=_case_id)
def test_without_migrate_sync_apps_stay(before: Path):
    outputs, diagnostics = _run_project(before, DEFAULT_SETTINGS)
    assert outputs == _tree(before)
    assert not [line for line in diagnostics if " SQLA" in line]


# -- runtime: the migrated script runs as the sync one did --------------------------------------


def _run_script(folder: Path) -> List[Tuple[str, ...]]:
    """``python -m app.initial_data`` twice (idempotent), then the users it left in app.db."""
    import os
    import sqlite3
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(folder)
    for _ in range(2):
        process = subprocess.run(
            [sys.executable, "-m", "app.initial_data"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == 0, process.stderr
    with sqlite3.connect(folder / "app.db") as connection:
        return connection.execute("SELECT email FROM user").fetchall()


def test_migrated_script_does_what_the_sync_script_did(tmp_path: Path):
    pytest.importorskip("sqlmodel")
    pytest.importorskip("aiosqlite")
    import shutil

    results = {}
    for side in ("before", "after"):
        folder = tmp_path / side
        shutil.copytree(MIGRATE_DIR / f"scripts.{side}", folder)
        results[side] = _run_script(folder)
    assert results["before"] == results["after"] == [("admin@example.com",)]
    assert (
        "asyncio.run(main())"
        in (MIGRATE_DIR / "scripts.after" / "app" / "initial_data.py").read_text()
    )


def test_query_kept_in_a_variable_returns_what_the_sync_original_returns(tmp_path: Path):
    pytest.importorskip("aiosqlite")
    import asyncio

    from conftest import load_module
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.orm import Session

    before = load_module(MIGRATE_DIR / "query_variable.before.py", "query_variable_before")
    after = load_module(MIGRATE_DIR / "query_variable.after.py", "query_variable_after")
    database = tmp_path / "books.db"
    engine = create_engine(f"sqlite:///{database}")
    before.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            [
                before.Book(id=1, title="Dune"),
                before.Book(id=2, title="Dune Messiah", author_id=1),
                before.Book(id=3, title="Emma"),
            ]
        )
        session.commit()
        sync = (
            [b.id for b in before.search_books(session, "dune")],
            [b.id for b in before.search_books(session, "dune", author_id=1)],
            before.count_books(session, "dune"),
            tuple(before.first_title(session)),
        )
    engine.dispose()

    async def migrated():
        async_engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with AsyncSession(async_engine) as session:
                return (
                    [b.id for b in await after.search_books(session, "dune")],
                    [b.id for b in await after.search_books(session, "dune", author_id=1)],
                    await after.count_books(session, "dune"),
                    tuple(await after.first_title(session)),
                )
        finally:
            await async_engine.dispose()

    assert asyncio.run(migrated()) == sync == ([1, 2], [2], 2, ("Dune",))


def test_migrated_fixtures_and_tests_run_on_anyio(tmp_path: Path):
    # The golden's own tests, before and after: the async fixture, the async tests and the hook
    # run under anyio's pytest plugin with the anyio_backend fixture --migrate added.
    import os
    import shutil
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for side in ("before", "after"):
        folder = tmp_path / side
        shutil.copytree(MIGRATE_DIR / f"pytest_fixtures.{side}", folder)
        process = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert process.returncode == 0, process.stdout + process.stderr
        assert "2 passed" in process.stdout, process.stdout
        assert "never awaited" not in process.stdout + process.stderr


def test_repository_class_app_answers_what_the_sync_app_answered(tmp_path: Path, monkeypatch):
    """repository_class: repositories holding ``self.session`` (their methods made async, their
    callers awaiting them), run over HTTP on a real SQLite file before and after."""
    pytest.importorskip("aiosqlite")
    import asyncio

    import httpx
    from conftest import load_module
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, insert

    def seeded(folder: Path, name: str):
        folder.mkdir()
        monkeypatch.chdir(folder)  # the app's URL is relative: ./notes.db
        module = load_module(MIGRATE_DIR / f"repository_class.{name}.py", f"repository_{name}")
        engine = create_engine("sqlite:///notes.db")
        module.Base.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(module.Note),
                [
                    {"id": 1, "author_id": 1, "body": "buy milk"},
                    {"id": 2, "author_id": 1, "body": "call the plumber"},
                    {"id": 3, "author_id": 2, "body": "more milk"},
                ],
            )
        engine.dispose()
        return module

    requests = [
        ("POST", "/users/a@example.com"),
        ("POST", "/users/a@example.com"),
        ("POST", "/users/b@example.com"),
        ("GET", "/users/count"),
        ("GET", "/users/1/notes"),
        ("GET", "/notes/search?q=milk"),
        ("DELETE", "/notes/1"),
        ("DELETE", "/notes/1"),
        ("GET", "/users/1/notes"),
    ]

    before = seeded(tmp_path / "before", "before")
    with TestClient(before.app) as client:
        sync = [(r.status_code, r.content) for r in (client.request(*q) for q in requests)]

    after = seeded(tmp_path / "after", "after")

    async def migrated():
        transport = httpx.ASGITransport(app=after.app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return [
                    (r.status_code, r.content) for r in [await client.request(*q) for q in requests]
                ]
        finally:
            await after.engine.dispose()

    assert asyncio.run(migrated()) == sync
    assert [status for status, _ in sync] == [201, 409, 201, 200, 200, 200, 204, 404, 200]
    assert sync[4][1] == b"[1,2]" and sync[5][1] == b"[1,3]" and sync[8][1] == b"[2]"


_SCOPE_DRIVER = """
import asyncio, inspect, json, sys
from app import db, models, services
from app.main import app

requests = [
    ("GET", "/health"), ("POST", "/users", {"email": "a@example.com", "name": "A"}),
    ("POST", "/users", {"email": "a@example.com", "name": "B"}), ("GET", "/users/count"),
    ("GET", "/users/1"), ("GET", "/users/9"), ("POST", "/users/1/notes", {"body": "buy milk"}),
    ("POST", "/users/9/notes", {"body": "x"}), ("GET", "/users/1/notes"),
    ("GET", "/notes/search", None, {"q": "milk"}), ("DELETE", "/notes/1"), ("DELETE", "/notes/1"),
]

def maybe(value):
    return asyncio.run(value) if inspect.iscoroutine(value) else value

if inspect.iscoroutinefunction(services.find_user):
    import httpx

    async def main():
        async with db.engine.begin() as connection:
            await connection.run_sync(db.Base.metadata.create_all)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            out = []
            for method, url, *rest in requests:
                body = rest[0] if rest else None
                params = rest[1] if len(rest) > 1 else None
                r = await client.request(method, url, json=body, params=params)
                out.append([r.status_code, r.text])
        await db.engine.dispose()
        return out
    out = asyncio.run(main())
else:
    from fastapi.testclient import TestClient
    db.Base.metadata.create_all(db.engine)
    with TestClient(app) as client:
        out = []
        for method, url, *rest in requests:
            body = rest[0] if rest else None
            params = rest[1] if len(rest) > 1 else None
            r = client.request(method, url, json=body, params=params)
            out.append([r.status_code, r.text])
json.dump(out, sys.stdout)
"""


def test_session_scope_app_answers_what_the_sync_app_answered(tmp_path: Path):
    """session_scope: `@contextmanager` scope -> `@asynccontextmanager`, `async with` at every
    call site, a dependency yielding a repository built on it; both apps run over HTTP, each in
    its own interpreter on its own SQLite file."""
    pytest.importorskip("aiosqlite")
    import json
    import os
    import shutil
    import subprocess
    import sys

    answers = []
    for side in ("before", "after"):
        project = tmp_path / side
        shutil.copytree(MIGRATE_DIR / f"session_scope.{side}", project)
        env = dict(os.environ, NOTES_DATABASE_URL=f"sqlite:///{project / 'notes.db'}")
        process = subprocess.run(
            [sys.executable, "-c", _SCOPE_DRIVER],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == 0, process.stderr
        answers.append(json.loads(process.stdout))
    assert answers[0] == answers[1]
    statuses = [status for status, _ in answers[0]]
    assert statuses == [200, 201, 409, 200, 200, 404, 201, 404, 200, 200, 204, 404]


_CONNECTION_HANDED_ON = """\
from fastapi import FastAPI
from sqlalchemy import create_engine, text

engine = create_engine("sqlite:///./app.db")
app = FastAPI()


def count(connection):
    return connection.execute(text("SELECT 1")).scalar_one()


@app.get("/")
def read():
    with engine.connect() as connection:
        return {"n": count(connection)}
"""


def test_a_connection_handed_to_other_code_keeps_the_engine_sync():
    """`with engine.connect() as conn` converts only when conn is nothing but the receiver of
    awaitable calls: handed to a helper, the helper would call a sync API on an AsyncConnection,
    so nothing converts and SQLA008 names the block."""
    new, diagnostics = migrate_rewrite(_CONNECTION_HANDED_ON)
    assert new == _CONNECTION_HANDED_ON
    assert [d.code for d in diagnostics] == ["SQLA008"]
    assert "`engine.connect` is used" in diagnostics[0].message
    converts = _CONNECTION_HANDED_ON.replace(
        '{"n": count(connection)}', "{\"n\": connection.execute(text('SELECT 1')).scalar_one()}"
    )
    new, diagnostics = migrate_rewrite(converts)
    assert "async with engine.connect() as connection:" in new
    assert '(await connection.execute(text("SELECT 1"))).scalar_one()' in new
    assert not [d for d in diagnostics if d.code.startswith("SQLA")]


def test_a_repository_subclassed_in_another_module_keeps_the_app_sync(tmp_path: Path):
    """The scan of ``more.py`` cannot know ``self.session`` is a session: converting would leave
    ``Sub.two`` calling a sync API on an AsyncSession, so nothing converts and SQLA002 says why."""
    repository = (MIGRATE_DIR / "repository_subclass.before.py").read_text()
    base = repository[: repository.index("class Sub(Repo):")].rstrip() + "\n"
    files = {
        "app/__init__.py": "",
        "app/repo.py": base
        + "\n\n@app.get('/')\ndef read(db: Session = Depends(get_db)):\n    return Repo(db).one()\n",
        "app/more.py": (
            "from fastapi import Depends\n"
            "from sqlalchemy import text\n\n"
            "from app.repo import Repo, app, get_db\n\n\n"
            "class Sub(Repo):\n"
            "    def two(self):\n"
            "        return self.session.execute(text('SELECT 2')).scalar_one()\n\n\n"
            "@app.get('/two')\n"
            "def two(db=Depends(get_db)):\n"
            "    return Sub(db).two()\n"
        ),
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert {name: data.decode() for name, data in outputs.items()} == files
    assert "app/more.py:7:1: SQLA002 `Sub` subclasses the repository `Repo` of another module" in (
        diagnostics
    )
    # the same subclass in the repository's module converts with it
    (tmp_path / "app/more.py").unlink()
    (tmp_path / "app/repo.py").write_text(repository)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert "async def two(self):" in outputs["app/repo.py"].decode()
    assert not [line for line in diagnostics if " SQLA" in line]


def test_sys_exit_of_a_main_made_async_runs_it(tmp_path: Path):
    """`sys.exit(main())` under the __main__ guard -> `sys.exit(asyncio.run(main()))`; the script
    exits with main's status before and after."""
    pytest.importorskip("aiosqlite")
    import subprocess
    import sys

    script = (
        "import sys\n\n"
        "from sqlalchemy import create_engine, text\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        f"engine = create_engine('sqlite:///{tmp_path / 'exit.db'}')\n"
        "SessionLocal = sessionmaker(bind=engine)\n\n\n"
        "def main() -> int:\n"
        "    with SessionLocal() as session:\n"
        "        return session.execute(text('SELECT 3')).scalar_one()\n\n\n"
        'if __name__ == "__main__":\n'
        "    sys.exit(main())\n"
    )
    new, diagnostics = migrate_rewrite(script)
    assert "sys.exit(asyncio.run(main()))" in new
    assert not diagnostics
    for source in (script, new):
        path = tmp_path / "script.py"
        path.write_text(source)
        assert subprocess.run([sys.executable, str(path)], timeout=120).returncode == 3


def test_a_repository_session_used_outside_its_class_keeps_the_app_sync():
    """`users.session.commit()` in a route: the call on the session would be left un-awaited."""
    source = (MIGRATE_DIR / "repository_subclass.before.py").read_text()
    source = source.replace(
        "    return Sub(db).two() + Sub(db).one()\n",
        "    repository = Sub(db)\n    repository.session.commit()\n    return repository.two()\n",
    )
    new, diagnostics = migrate_rewrite(source)
    assert new == source
    assert [(d.code, d.line) for d in diagnostics] == [("SQLA008", 5), ("SQLA002", 31)]
    assert "`.session` of a repository (its session) is used outside" in diagnostics[1].message


# -- typer/click commands: sync for the framework, their body in asyncio.run --------------------

_CLICK_APP = {
    "app/__init__.py": "",
    "app/db.py": (
        "import os\n\n"
        "from sqlalchemy import create_engine, text\n"
        "from sqlalchemy.orm import Session\n\n"
        'DB_URL = os.environ.get("DB_URL", "sqlite:///./cli.db")\n'
        "engine = create_engine(DB_URL)\n\n\n"
        "def count(session: Session) -> int:\n"
        '    return session.execute(text("SELECT count(*) FROM t")).scalar_one()\n'
    ),
    "app/cli.py": (
        "import click\n"
        "from sqlalchemy import text\n"
        "from sqlalchemy.orm import Session\n\n"
        "from app.db import count, engine\n\n\n"
        "@click.group()\n"
        "def cli():\n"
        '    """Tools."""\n\n\n'
        '@cli.command("add")\n'
        '@click.argument("n", type=int)\n'
        '@click.option("--times", default=1)\n'
        "def add(n, times):\n"
        '    """Add rows."""\n'
        "    with Session(engine) as session:\n"
        '        session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))\n'
        "        for _ in range(times):\n"
        '            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})\n'
        "        session.commit()\n"
        '        click.echo(f"{count(session)} rows")\n\n\n'
        'if __name__ == "__main__":\n'
        "    cli()\n"
    ),
}


def _write(folder: Path, files: Dict[str, str]) -> None:
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source)


def test_a_click_command_runs_its_converted_body_with_asyncio_run(tmp_path: Path):
    """The command stays a sync function click calls; its body (the session, and `count`, a
    Session function made async) runs in `asyncio.run`; the CLI prints what it printed."""
    pytest.importorskip("aiosqlite")
    import os
    import subprocess
    import sys

    printed = {}
    for side in ("before", "after"):
        folder = tmp_path / side
        _write(folder, _CLICK_APP)
        if side == "after":
            outputs, diagnostics = _run_project(folder, MIGRATE)
            assert not [line for line in diagnostics if " SQLA" in line or "AWAIT" in line]
            _write(folder, {name: data.decode() for name, data in outputs.items()})
            cli = outputs["app/cli.py"].decode()
            assert "async def _add(n, times):" in cli
            assert '    """Add rows."""\n    asyncio.run(_add(n, times))\n' in cli
            assert 'click.echo(f"{await count(session)} rows")' in cli
            assert _run_project(folder, MIGRATE)[0] == outputs  # a fixed point
        env = dict(os.environ, DB_URL=f"sqlite:///{folder / 'cli.db'}", PYTHONPATH=str(folder))
        runs = [
            subprocess.run(
                [sys.executable, "-m", "app.cli", *args],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            for args in (["add", "1"], ["add", "2", "--times", "3"])
        ]
        assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
        printed[side] = [r.stdout for r in runs]
    assert printed["before"] == printed["after"] == ["1 rows\n", "4 rows\n"]


def test_a_command_on_in_memory_sqlite_keeps_its_database_between_commands(tmp_path: Path):
    """aiosqlite's connection serves any loop, so a split command disposes nothing: disposing
    the in-memory database's one connection would drop the database (the second command, in the
    same process, would find no table)."""
    pytest.importorskip("aiosqlite")
    import subprocess
    import sys

    files = dict(_CLICK_APP)
    files["app/db.py"] = (
        files["app/db.py"]
        .replace(
            "engine = create_engine(DB_URL)",
            'engine = create_engine("sqlite://", poolclass=StaticPool)',
        )
        .replace(
            "from sqlalchemy.orm import Session\n",
            "from sqlalchemy.orm import Session\nfrom sqlalchemy.pool import StaticPool\n",
        )
    )
    script = (
        "from click.testing import CliRunner\n"
        "from app.cli import cli\n"
        "runner = CliRunner()\n"
        "for args in (['add', '1'], ['add', '2', '--times', '3']):\n"
        "    result = runner.invoke(cli, args)\n"
        "    print(result.exit_code, result.output.strip(), result.exception)\n"
    )
    printed = {}
    for side in ("before", "after"):
        folder = tmp_path / side
        _write(folder, files)
        if side == "after":
            outputs, diagnostics = _run_project(folder, MIGRATE)
            assert not [line for line in diagnostics if " SQLA" in line or "AWAIT" in line]
            cli = outputs["app/cli.py"].decode()
            assert "asyncio.run(_add(n, times))" in cli and "dispose" not in cli
            _write(folder, {name: data.decode() for name, data in outputs.items()})
        run = subprocess.run(
            [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=120
        )
        printed[side] = (run.returncode, run.stdout)
    assert printed["before"] == printed["after"] == (0, "0 1 rows None\n0 4 rows None\n")


def test_a_command_disposes_the_one_engine_importing_it_as_its_module_does(tmp_path: Path):
    """On a driver whose connections belong to a loop (asyncpg), the command's body ends with
    `await engine.dispose()`; the engine's name joins the command module's own relative import
    of the database module."""
    files = {
        "app/__init__.py": "",
        "app/db.py": (
            "from sqlalchemy import create_engine\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            'engine = create_engine("postgresql://u@h/db")\n'
            "SessionLocal = sessionmaker(bind=engine)\n"
        ),
        "app/cli.py": (
            "import click\n"
            "from sqlalchemy import text\n\n"
            "from .db import SessionLocal\n\n\n"
            "@click.command()\n"
            "def ping():\n"
            "    with SessionLocal() as db:\n"
            '        click.echo(db.execute(text("SELECT 1")).scalar_one())\n'
        ),
    }
    _write(tmp_path, files)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert not [line for line in diagnostics if " SQLA" in line], diagnostics
    assert outputs["app/cli.py"].decode() == (
        "import asyncio\n\n"
        "import click\n"
        "from sqlalchemy import text\n\n"
        "from .db import SessionLocal, engine\n\n\n"
        "async def _ping():\n"
        "    try:\n"
        "        async with SessionLocal() as db:\n"
        '            click.echo((await db.execute(text("SELECT 1"))).scalar_one())\n'
        "    finally:\n"
        "        await engine.dispose()\n\n\n"
        "@click.command()\n"
        "def ping():\n"
        "    asyncio.run(_ping())\n"
    )
    # `engine` already names something else in the command's module: no import, it blocks.
    clash = dict(files)
    clash["app/cli.py"] = files["app/cli.py"].replace(
        "from .db import SessionLocal\n", 'from .db import SessionLocal\n\nengine = "cli"\n'
    )
    _write(tmp_path, clash)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert {name: data.decode() for name, data in outputs.items()} == clash
    assert any(
        "SQLA002 the CLI command `ping` cannot import the engine `engine` to dispose it: "
        "`engine` is bound to something else in its module" in line
        for line in diagnostics
    ), diagnostics
    # Two engines in the app: which one the command's sessions use is not proven; it blocks.
    files["app/db.py"] += 'other = create_engine("postgresql://u@h/other")\n'
    _write(tmp_path, files)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert {name: data.decode() for name, data in outputs.items()} == files
    assert (
        "app/cli.py:8:1: SQLA002 the CLI command `ping` runs its body in asyncio.run and must "
        "dispose the engine its sessions use at its end, but the program has 2 engines: "
        "`engine` (app/db.py), `other` (app/db.py)"
    ) in diagnostics, diagnostics


def test_a_typer_callback_that_opens_a_session_splits_like_a_command(tmp_path: Path):
    """typer calls `@app.callback()` synchronously before the command, in the same process:
    it splits like a command (its own asyncio.run); the CLI prints what it printed, twice in one
    process."""
    pytest.importorskip("typer")
    pytest.importorskip("aiosqlite")
    import os
    import subprocess
    import sys

    files = {
        "app/__init__.py": "",
        "app/db.py": (
            "import os\n\n"
            "from sqlalchemy import create_engine\n\n"
            "engine = create_engine(f\"sqlite:///{os.environ['DB_FILE']}\")\n"
        ),
        "app/cli.py": (
            "import typer\n"
            "from sqlalchemy import text\n"
            "from sqlalchemy.orm import Session\n\n"
            "from app.db import engine\n\n"
            "app = typer.Typer()\n\n\n"
            "@app.callback()\n"
            "def prepare(verbose: bool = typer.Option(False)):\n"
            '    """Notes."""\n'
            "    with Session(engine) as session:\n"
            '        session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))\n'
            "        session.commit()\n"
            "        if verbose:\n"
            '            typer.echo("tables ready")\n\n\n'
            "@app.command()\n"
            "def add(n: int):\n"
            "    with Session(engine) as session:\n"
            '        session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})\n'
            "        session.commit()\n"
            '        total = session.execute(text("SELECT sum(n) FROM t")).scalar_one()\n'
            '        typer.echo(f"total {total}")\n'
        ),
    }
    script = (
        "from typer.testing import CliRunner\n"
        "from app.cli import app\n"
        "runner = CliRunner()\n"
        "for args in (['--verbose', 'add', '2'], ['add', '3']):\n"
        "    result = runner.invoke(app, args)\n"
        "    print(result.exit_code, result.output.strip().replace('\\n', ' / '))\n"
    )
    printed = {}
    for side in ("before", "after"):
        folder = tmp_path / side
        _write(folder, files)
        if side == "after":
            outputs, diagnostics = _run_project(folder, MIGRATE)
            assert not [line for line in diagnostics if " SQLA" in line], diagnostics
            cli = outputs["app/cli.py"].decode()
            assert (
                "@app.callback()\ndef prepare(verbose: bool = typer.Option(False)):\n"
                '    """Notes."""\n    asyncio.run(_prepare(verbose))\n'
            ) in cli
            _write(folder, {name: data.decode() for name, data in outputs.items()})
        env = dict(os.environ, DB_FILE=str(folder / "notes.db"))
        run = subprocess.run(
            [sys.executable, "-c", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        printed[side] = (run.returncode, run.stdout, run.stderr[-2000:])
    expected = (0, "0 tables ready / total 2\n0 total 5\n", "")
    assert printed["before"] == printed["after"] == expected, printed


def test_a_command_called_from_a_coroutine_never_runs_a_loop_in_the_loop(tmp_path: Path):
    """Split, the command would start a loop inside the coroutine's loop: the conversion is
    refused (SQLA002 names the call); if the blocking plan offloads the still-sync call to a
    thread, a later round converts the app (the command's asyncio.run then runs in that
    thread). Either way the coroutine still writes its row."""
    pytest.importorskip("aiosqlite")
    import os
    import subprocess
    import sys

    files = dict(_CLICK_APP)
    # (read where the first pass reads: a module that mentions sessions, engines or the CLI)
    files["app/hooks.py"] = (
        "import click\n\nfrom app.cli import add\n\n\nasync def on_start():\n    add.callback(1, 1)\n"
    )
    _write(tmp_path, files)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert "SQLA002 the CLI command `add` is called from `on_start`" in "\n".join(diagnostics)
    hooks = outputs["app/hooks.py"].decode()
    if hooks == files["app/hooks.py"]:  # the call stays on the loop: nothing converts
        assert {name: data.decode() for name, data in outputs.items()} == files
    else:  # offloaded to a thread, where the command's asyncio.run has no loop to meet
        assert "await asyncio.to_thread(add.callback, 1, 1)" in hooks
        assert "asyncio.run(_add(n, times))" in outputs["app/cli.py"].decode()
    _write(tmp_path, {name: data.decode() for name, data in outputs.items()})
    env = dict(os.environ, DB_URL=f"sqlite:///{tmp_path / 'cli.db'}", PYTHONPATH=str(tmp_path))
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from app.hooks import on_start; " "asyncio.run(on_start())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout == "1 rows\n", run.stderr


def test_a_command_of_an_unproven_decorator_or_a_shell_session_stays_a_blocker(tmp_path: Path):
    """Only typer apps and click groups proven in the module split; `Session(engine)` handed to
    an interactive shell cannot be async: both keep the engine sync (SQLA008)."""
    shell = _CLICK_APP["app/cli.py"].replace(
        "if __name__",
        '@cli.command()\ndef shell():\n    run_shell({"session": Session(engine)})\n\n\nif __name__',
    )
    unproven = _CLICK_APP["app/cli.py"].replace('@cli.command("add")', '@registry.command("add")')
    for source, why in (
        (shell, "`Session(engine)` outside a `with` block in sync `shell`"),
        (unproven, "`with Session(engine)` in sync `add`, which stays sync"),
    ):
        for name in list(tmp_path.iterdir()):
            __import__("shutil").rmtree(name)
        _write(tmp_path, {**_CLICK_APP, "app/cli.py": source})
        outputs, diagnostics = _run_project(tmp_path, MIGRATE)
        assert outputs["app/cli.py"].decode() == source
        assert any(" SQLA008 " in line and why in line for line in diagnostics), diagnostics


# -- a test module's import-time create_all: on the loop that uses the connection ---------------

_OVERRIDE_APP = {
    "app/__init__.py": "",
    "app/main.py": (
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy import create_engine, select\n"
        "from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker\n\n"
        'engine = create_engine("sqlite:///./app.db")\n'
        "SessionLocal = sessionmaker(bind=engine)\n\n\n"
        "class Base(DeclarativeBase):\n"
        "    pass\n\n\n"
        "class Thing(Base):\n"
        '    __tablename__ = "things"\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n\n\n"
        "app = FastAPI()\n\n\n"
        "def get_db():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        yield db\n"
        "    finally:\n"
        "        db.close()\n\n\n"
        '@app.get("/count")\n'
        "def count(db: Session = Depends(get_db)):\n"
        "    return len(db.execute(select(Thing)).scalars().all())\n"
    ),
    "tests/__init__.py": "",
    "tests/test_things.py": (
        "import asyncio\n\n"
        "from fastapi.testclient import TestClient\n"
        "from sqlalchemy import create_engine, event\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "from sqlalchemy.pool import StaticPool\n\n"
        "from app.main import Base, app, get_db\n\n"
        "CREATED_ON = []  # the loop each create_all ran on (None: no loop, a sync engine)\n\n\n"
        '@event.listens_for(Base.metadata, "before_create")\n'
        "def _record(*args, **kwargs):\n"
        "    try:\n"
        "        CREATED_ON.append(asyncio.get_running_loop())\n"
        "    except RuntimeError:\n"
        "        CREATED_ON.append(None)\n\n\n"
        "engine = create_engine(\n"
        '    "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool\n'
        ")\n"
        "TestingSessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)\n\n"
        "Base.metadata.create_all(bind=engine)\n\n\n"
        "def override_get_db():\n"
        "    try:\n"
        "        db = TestingSessionLocal()\n"
        "        yield db\n"
        "    finally:\n"
        "        db.close()\n\n\n"
        "app.dependency_overrides[get_db] = override_get_db\n\n\n"
        "def test_tables_are_created_on_the_loop_that_uses_them():\n"
        "    with TestClient(app) as client:\n"
        '        assert client.get("/count").json() == 0\n'
        "        serving = client.portal.call(asyncio.get_running_loop)\n"
        "    assert CREATED_ON\n"
        "    if CREATED_ON[0] is not None:  # an async engine: its tables come from this loop\n"
        "        assert serving in CREATED_ON\n"
    ),
}


def test_import_time_create_all_of_a_test_engine_moves_into_its_override(tmp_path: Path):
    """Not `asyncio.run(...)` at import (a loop no request runs on: asyncpg's and psycopg's
    connections belong to the loop that made them): the override creates the tables, on the
    request's loop, before it opens the session. The module's own test checks the loop."""
    pytest.importorskip("aiosqlite")
    import subprocess
    import sys

    _write(tmp_path, _OVERRIDE_APP)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert not [line for line in diagnostics if " SQLA" in line]
    tests = outputs["tests/test_things.py"].decode()
    assert "asyncio.run(" not in tests
    assert (
        "async def override_get_db():\n"
        "    async with engine.begin() as conn:\n"
        "        await conn.run_sync(Base.metadata.create_all)\n"
        "    async with TestingSessionLocal() as db:\n"
        "        yield db\n"
    ) in tests
    for side, files in (("before", _OVERRIDE_APP), ("after", outputs)):
        folder = tmp_path / side
        _write(folder, {n: d if isinstance(d, str) else d.decode() for n, d in files.items()})
        if side == "after":
            assert _run_project(folder, MIGRATE)[0] == outputs  # a fixed point
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, (side, run.stdout[-3000:])


def test_a_test_engine_used_outside_the_override_refuses_the_conversion():
    """A test that opens `TestingSessionLocal()` itself may run before any request has made
    the tables, so the DDL cannot move into the override; the only other form, a throwaway
    `asyncio.run` at import, creates the tables on a loop no test uses (wrong for asyncpg and
    psycopg). The issue says never: the conversion is refused and the DDL line says why."""
    source = _OVERRIDE_APP["tests/test_things.py"] + (
        "\n\ndef test_direct():\n    with TestingSessionLocal() as db:\n        db.execute(text('SELECT 1'))\n"
    )
    new, diagnostics = migrate_rewrite(source, "tests/test_things.py")
    assert new == source
    assert "asyncio.run" not in new
    (ddl,) = [d for d in diagnostics if d.code == "SQLA004"]
    assert "uses its engine outside its dependency overrides" in ddl.message


def test_a_session_function_handed_to_other_code_as_a_value_keeps_the_app_sync(tmp_path: Path):
    """fastapi-workshop's shape: `authenticate_user(get_user, ...)` in another module. The await
    machinery keeps a callback sync, so `get_user`'s `with Session(engine)` would stay sync on
    the async engine: nothing converts, and SQLA002 names the hand-off."""
    files = {
        "app/__init__.py": "",
        "app/db.py": (
            "from sqlmodel import Session, create_engine, select\n\n"
            'engine = create_engine("sqlite:///./app.db")\n\n\n'
            "def get_user(name):\n"
            "    with Session(engine) as session:\n"
            "        return session.exec(select(1)).first()\n"
        ),
        "app/routes.py": (
            "from sqlmodel import Session\n\n"
            "from app.db import get_user\n\n\n"
            "def authenticate(get, name):\n"
            "    return get(name)\n\n\n"
            "def login(name, db: Session):\n"
            "    return authenticate(get_user, name)\n"
        ),
    }
    _write(tmp_path, files)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert {name: data.decode() for name, data in outputs.items()} == files
    assert (
        "app/routes.py:11:25: SQLA002 `get_user` is handed to other code as a value, so it cannot"
        " become async" in diagnostics
    )


def test_a_session_function_the_await_analysis_keeps_sync_refuses_the_whole_conversion(
    tmp_path: Path,
):
    """The hand-off is in a module the SQLAlchemy first pass never reads (no session, engine or
    CLI word in it), so only the whole-program await analysis sees that `get_user` cannot become
    async. Converting the engine anyway would leave `with Session(engine)` sync on an async
    engine (it fails on first use): the conversion is refused as a whole, and SQLA008 says why."""
    files = {
        "app/__init__.py": "",
        "app/db.py": (
            "from sqlalchemy import create_engine, select\n"
            "from sqlalchemy.orm import Session\n\n"
            'engine = create_engine("sqlite:///./app.db")\n\n\n'
            "def get_user(name):\n"
            "    with Session(engine) as session:\n"
            "        return session.scalars(select(1)).first()\n"
        ),
        "app/auth.py": "def authenticate(lookup, name):\n    return lookup(name) is not None\n",
        "app/main.py": (
            "from fastapi import FastAPI\n\n"
            "from .auth import authenticate\n"
            "from .db import get_user\n\n"
            "app = FastAPI()\n\n\n"
            '@app.get("/login/{name}")\n'
            "def login(name: str):\n"
            '    return {"ok": authenticate(get_user, name)}\n'
        ),
    }
    _write(tmp_path, files)
    outputs, diagnostics = _run_project(tmp_path, MIGRATE)
    assert {name: data.decode() for name, data in outputs.items()} == files
    assert [d for d in diagnostics if "SQLA011" in d] == []
    (engine_line,) = [d for d in diagnostics if d.startswith("app/db.py:4:10: SQLA008")]
    assert "`get_user` would take the session's awaits but stays sync" in engine_line
    assert "passed as a callback (app/main.py:11)" in engine_line


def test_a_declared_driver_must_be_an_async_driver_asyncfix_knows():
    """`[tool.asyncfix] async-driver` is proof of the driver only for what asyncfix can write:
    a sync or unknown scheme is a configuration error, not a silent no-op."""
    from asyncfix.codemods.config import ConfigError

    table = {"tool": {"asyncfix": {"async-driver": "sqlite+aiosqlite"}}}
    assert asyncfix_options(table) == {"async_driver": "sqlite+aiosqlite"}
    for wrong in ("postgresql", "postgresql+psycopg2", "oracle+oracledb"):
        with pytest.raises(ConfigError, match="async-driver must be one of"):
            asyncfix_options({"tool": {"asyncfix": {"async-driver": wrong}}})
