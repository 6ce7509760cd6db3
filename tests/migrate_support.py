"""What tests/test_migrate_<app>.py run and read: app copies, subprocesses, and static scans.

The scans are ``ast`` walks with Python's import rules kept simple (module-level imports, no
re-exports): enough for the apps of ``tests/migrate_apps/``, which are written to be read that
way, and unit-tested in test_migrate_support.py.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

APPS = Path(__file__).resolve().parent / "migrate_apps"
TIMEOUT = 600


@dataclass(frozen=True)
class App:
    name: str
    code: Tuple[str, ...]  # directories (relative to the app root) holding app code, not tests
    tests: int  # how many tests its suite has: after --migrate, every one still runs and passes
    drivers: Tuple[str, ...]  # the async driver packages the requirements may name (any one)
    needs: Tuple[str, ...] = ()  # importable modules the app's suite needs beyond the test extras
    # `path:function` of the `async def`s that call the sync session on the event loop: a plain
    # --apply must fix (the function changes) or report (a diagnostic inside it) each one.
    blocking: Tuple[str, ...] = ()


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
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def run_python(root: Path, script: str) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter, in the app's directory (its packages importable)."""
    env = _env()
    env["PYTHONPATH"] = str(root)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def run_asyncfix(root: Path, *args: str) -> subprocess.CompletedProcess:
    """asyncfix of this checkout, or the executable ``$MIGRATE_ASYNCFIX`` names (to judge
    another build, e.g. a branch's venv, on the same apps; the suites still run here)."""
    other = os.environ.get("MIGRATE_ASYNCFIX")
    command = [other] if other else [sys.executable, "-m", "asyncfix"]
    return subprocess.run(
        [*command, *args, "."],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def passed(process: subprocess.CompletedProcess) -> int:
    """How many tests passed, from pytest's last line (``8 passed, 1 warning in 3.1s``)."""
    counts = re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", process.stdout)
    by_outcome = {kind: int(number) for number, kind in counts}
    return by_outcome.get("passed", 0) if set(by_outcome) == {"passed"} else -1


REQUIREMENTS = "asyncfix: the rewritten code needs these packages installed: "


def requirements(process: subprocess.CompletedProcess) -> List[str]:
    """The packages asyncfix's summary says the rewritten code needs."""
    for line in process.stderr.splitlines():
        if line.startswith(REQUIREMENTS):
            return [name.strip() for name in line[len(REQUIREMENTS) :].split(",")]
    return []


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


def postgres_unavailable() -> Optional[str]:
    """Why the PostgreSQL app's conftest would skip every test here, or None."""
    if _postgres_bindir() is None:
        return "PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin)"
    if getattr(os, "geteuid", lambda: 1)() == 0 and not _has_user("postgres"):
        return "running as root and there is no `postgres` user to run the server as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


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
SYNC_ENGINES = {
    "sqlalchemy.create_engine",
    "sqlalchemy.engine.create_engine",
    "sqlmodel.create_engine",
}
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
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))


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
                if isinstance(node, ast.Call) and _dotted(node.func, names) in ASYNC_ENGINES
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


def async_defs(root: Path, app: App) -> Dict[str, Tuple[str, int, int]]:
    """``path:name`` -> (source, first line, last line) of every top-level ``async def``."""
    found = {}
    for directory in app.code:
        for path in sorted((root / directory).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for node in ast.parse(source).body:
                if isinstance(node, ast.AsyncFunctionDef):
                    found[f"{path.relative_to(root).as_posix()}:{node.name}"] = (
                        ast.get_source_segment(source, node),
                        node.lineno,
                        node.end_lineno,
                    )
    return found


def client_tests(root: Path, kind: str) -> List[str]:
    """``path:name`` of the ``test_*`` functions of the app's tests that use a ``TestClient``
    (a ``client`` fixture, or a module-level client), defined with ``def`` or ``async def``;
    kind ``"needless async"``: ``async def`` ones that await nothing (no reason to be async)."""
    found = []
    for path in sorted((root / "tests").rglob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        wanted = ast.FunctionDef if kind == "def" else ast.AsyncFunctionDef
        for node in tree.body:
            if not isinstance(node, wanted) or not node.name.startswith("test_"):
                continue
            uses = {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
            uses |= {arg.arg for arg in node.args.args}
            if "client" not in uses:
                continue
            if kind == "needless async" and _awaits(node):
                continue
            found.append(f"{path.relative_to(root).as_posix()}:{node.name}")
    return found


def _awaits(function: ast.AsyncFunctionDef) -> bool:
    """An ``await``, ``async with`` or ``async for`` of the function itself (not of a nested
    function)."""
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Await, ast.AsyncWith, ast.AsyncFor)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return False
