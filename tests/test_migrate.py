"""``asyncfix --apply --migrate`` on whole apps (issue 17): their own suites pass before and after.

Each directory under ``tests/migrate_apps/`` is a self-contained sync project in one of the
shapes the issue names, with its own ``pyproject.toml`` and test suite (run as a real project
runs it: ``python -m pytest -q`` in a copy of the directory):

- ``tutorial``: the FastAPI SQL tutorial of 2019-2024 (``db: Session = Depends(get_db)``, two
  test modules with the ``override_get_db`` shape on in-memory SQLite + ``StaticPool``);
- ``sqlmodel_app``: the full-stack-template shape (``SessionDep`` alias, ``CurrentUser``,
  ``crud.py``, prestart scripts, a conftest ``db`` fixture used by sync tests);
- ``repository_app``: a repository class holding a session, a ``@contextmanager`` session scope,
  services, an argparse CLI;
- ``postgres_app``: the tutorial shape on PostgreSQL through psycopg 3, on a throwaway cluster
  the app's conftest starts (skipped when PostgreSQL is not installed).

Per app, on copies in a temporary directory:

- baseline: the sync app's suite passes, and the static scan below finds its sync SQLAlchemy
  uses (so the scan can fail);
- ``--apply --migrate``: exits 0 or 1 with no failed file, the suite passes again, the scan finds
  no sync ``Session`` / ``sessionmaker`` / ``create_engine`` / ``.query(`` left in app code, and a
  second run changes nothing;
- plain ``--apply`` (no ``--migrate``): the sync ``def`` functions of the app are left as they
  are (a sync route on a sync session is correct code), and the suite still passes.

Tests marked ``xfail(strict=True)`` wait for the ``--migrate`` implementation: when a property
starts to hold, the strict xfail fails, and the mark goes.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

pytest.importorskip("sqlalchemy", minversion="2")
pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
pytest.importorskip("fastapi")

APPS = Path(__file__).resolve().parent / "migrate_apps"
TIMEOUT = 600

NOT_BUILT = "--migrate not built for this shape yet"


@dataclass(frozen=True)
class App:
    name: str
    code: Tuple[str, ...]  # directories (relative to the app root) holding app code, not tests
    needs: Tuple[str, ...] = ()  # importable modules the app's suite needs beyond the test extras


TUTORIAL = App("tutorial", code=("sql_app",))
SQLMODEL = App("sqlmodel_app", code=("app",), needs=("sqlmodel",))
REPOSITORY = App("repository_app", code=("app",))
POSTGRES = App("postgres_app", code=("app",), needs=("psycopg",))
ALL = (TUTORIAL, SQLMODEL, REPOSITORY, POSTGRES)
BUILT = (TUTORIAL, SQLMODEL, POSTGRES)  # shapes --migrate converts: their xfail marks are gone


def _xfail(reason: str = NOT_BUILT):
    return pytest.mark.xfail(strict=True, reason=reason)


# --------------------------------------------------------------------------------------------
# Running things


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("PYTEST_ADDOPTS", "PYTHONPATH"):
        env.pop(name, None)
    return env


def copy_app(app: App, where: Path) -> Path:
    root = where / app.name
    shutil.copytree(
        APPS / app.name,
        root,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", "*.sqlite3"),
    )
    return root


def run_suite(root: Path) -> subprocess.CompletedProcess:
    """The app's own test suite, the way the project runs it, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )


def run_asyncfix(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asyncfix", *args, "."],
        cwd=root, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )


def outcome(process: subprocess.CompletedProcess) -> str:
    return f"exit {process.returncode}\n--- stdout\n{process.stdout}\n--- stderr\n{process.stderr}"


def snapshot(root: Path) -> Dict[str, str]:
    """Every file of the tree by content hash (caches and databases left out)."""
    files = {}
    for path in sorted(root.rglob("*")):
        parts = set(path.relative_to(root).parts)
        if path.is_dir() or parts & {"__pycache__", ".pytest_cache"}:
            continue
        if path.suffix in {".db", ".sqlite3", ".pyc"}:
            continue
        files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _require(app: App) -> None:
    for module in app.needs:
        pytest.importorskip(module)
    if app is POSTGRES and _postgres_bindir() is None:
        pytest.skip("PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin)")


def _postgres_bindir() -> Optional[Path]:
    """Where initdb and pg_ctl are, the way the app's conftest finds them."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if found.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# The static scan: sync SQLAlchemy left in app code

SYNC_SESSIONS = {
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session",
    "sqlmodel.Session",
    "sqlmodel.orm.session.Session",
    "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session",
}
SESSIONMAKERS = {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"}
SYNC_ENGINES = {"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine"}
ASYNC_ENGINES = {
    "sqlalchemy.ext.asyncio.create_async_engine",
    "sqlalchemy.ext.asyncio.engine.create_async_engine",
}


def _qualified_names(tree: ast.Module) -> Dict[str, str]:
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: Dict[str, str]) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in names:
        return None
    return ".".join([names[node.id], *reversed(parts)])


def _is_script(tree: ast.Module) -> bool:
    """``if __name__ == "__main__":`` at module level: a script may keep a sync engine."""
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            sides = [node.test.left, *node.test.comparators]
            if any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides):
                return True
    return False


def sync_sqlalchemy_uses(root: Path, app: App) -> List[str]:
    """``path:line: what`` for every sync SQLAlchemy session, sessionmaker, engine or ``.query(``
    left in the app's code (its tests, alembic and scripts excepted)."""
    found = []
    for directory in app.code:
        for path in sorted((root / directory).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "alembic" in path.relative_to(root).parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if _is_script(tree):
                continue
            names = _qualified_names(tree)
            for node in ast.walk(tree):
                where = f"{relative}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                    if _dotted(node, names) in SYNC_SESSIONS:
                        found.append(f"{where}: sync session class {ast.unparse(node)}")
                if not isinstance(node, ast.Call):
                    continue
                called = _dotted(node.func, names)
                if called in SYNC_ENGINES:
                    found.append(f"{where}: sync {ast.unparse(node.func)}(")
                elif called in SESSIONMAKERS and not any(
                    keyword.arg == "class_" for keyword in node.keywords
                ):
                    found.append(f"{where}: sessionmaker( of sync Session")
                elif isinstance(node.func, ast.Attribute) and node.func.attr == "query":
                    found.append(f"{where}: {ast.unparse(node.func)}( (no AsyncSession.query)")
    return found


def async_engines(root: Path, app: App) -> List[str]:
    """``path:line`` of every ``create_async_engine(`` call in the app's code."""
    found = []
    for directory in app.code:
        for path in sorted((root / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = _qualified_names(tree)
            found.extend(
                f"{path.relative_to(root).as_posix()}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Call)
                and _dotted(node.func, names) in ASYNC_ENGINES
            )
    return found


def sync_defs(root: Path, app: App) -> Dict[str, str]:
    """``path:qualname`` -> source of every sync ``def`` in the app's code."""
    found = {}
    for directory in app.code:
        for path in sorted((root / directory).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            relative = path.relative_to(root).as_posix()

            def visit(node: ast.AST, prefix: str) -> None:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.FunctionDef):
                        name = f"{prefix}{child.name}"
                        found[f"{relative}:{name}"] = ast.get_source_segment(source, child)
                        visit(child, f"{name}.")
                    elif isinstance(child, (ast.ClassDef, ast.AsyncFunctionDef)):
                        visit(child, f"{prefix}{child.name}.")

            visit(ast.parse(source), "")
    return found


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


def _indirect(name: str, marks: Dict[str, Sequence] = None):
    return pytest.mark.parametrize(("app", name), [
        pytest.param(app, app, id=app.name, marks=marks.get(app.name, ()) if marks else ())
        for app in ALL
    ], indirect=[name])


# --------------------------------------------------------------------------------------------
# Baseline: the sync apps are what they claim to be


@_indirect("baseline")
def test_sync_app_suite_passes(app: App, baseline) -> None:
    root, process = baseline
    assert process.returncode == 0, outcome(process)
    assert " passed" in process.stdout and "skipped" not in process.stdout, outcome(process)


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
    assert " passed" in process.stdout, outcome(process)


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


@_indirect("plain")
def test_plain_apply_suite_passes(app: App, plain) -> None:
    root, _ = plain
    process = run_suite(root)
    assert process.returncode == 0, outcome(process)
