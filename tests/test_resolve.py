"""The one resolver (codemods/resolve.py): module names with Python's import rules, and what the
whole program makes of them (a library name never resolves into the project)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from asyncfix.codemods import resolve
from asyncfix.codemods.resolve import absolute, module_names, package_of, resolve_relative


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def names(root: Path, relative: str) -> list:
    return module_names(str(root / relative), str(root))


def test_module_in_a_package_is_never_its_basename(tmp_path):
    write(
        tmp_path,
        {
            "anyio/__init__.py": "",
            "anyio/functools.py": "",
            "app/__init__.py": "",
            "app/logging.py": "",
            "app/http/__init__.py": "",
            "app/http/requests.py": "",
        },
    )
    assert names(tmp_path, "anyio/functools.py") == ["anyio.functools"]
    assert names(tmp_path, "app/logging.py") == ["app.logging"]
    assert names(tmp_path, "app/http/requests.py") == ["app.http.requests"]
    assert names(tmp_path, "app/http/__init__.py") == ["app.http"]


def test_script_folder_modules_are_importable_by_basename(tmp_path):
    # A flat app run from its own folder: `from database import get_db`.
    write(tmp_path, {"app/main.py": "", "app/database.py": ""})
    assert names(tmp_path, "app/database.py") == ["database", "app.database"]


def test_script_folder_never_shadows_a_library_or_stdlib_name(tmp_path):
    write(tmp_path, {"utils/functools.py": "", "scripts/requests.py": "", "scripts/json.py": ""})
    assert names(tmp_path, "utils/functools.py") == ["utils.functools"]
    assert names(tmp_path, "scripts/requests.py") == ["scripts.requests"]
    assert names(tmp_path, "scripts/json.py") == ["scripts.json"]


def test_a_top_level_module_on_the_root_shadows_as_python_would(tmp_path):
    write(tmp_path, {"functools.py": ""})
    assert names(tmp_path, "functools.py") == ["functools"]


def test_src_layout_and_namespace_packages(tmp_path):
    write(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/mod.py": "",
            "backend/app/__init__.py": "",
            "backend/app/api.py": "",
            "nspkg/sub/__init__.py": "",
            "nspkg/sub/x.py": "",
        },
    )
    assert names(tmp_path, "src/pkg/mod.py") == ["pkg.mod", "src.pkg.mod"]
    assert names(tmp_path, "backend/app/api.py") == ["app.api", "backend.app.api"]
    assert names(tmp_path, "nspkg/sub/x.py") == ["sub.x", "nspkg.sub.x"]


def test_configured_roots(tmp_path):
    write(tmp_path, {"services/api/functools.py": "", "services/api/db.py": ""})
    assert names(tmp_path, "services/api/functools.py") == ["services.api.functools"]
    resolve.configure(str(tmp_path), ["services/api"])
    try:
        # On a configured root, the project really has that top-level module.
        assert names(tmp_path, "services/api/functools.py") == [
            "functools",
            "services.api.functools",
        ]
    finally:
        resolve.configure(str(tmp_path), [])


def test_relative_imports_of_every_level(tmp_path):
    write(tmp_path, {"a/__init__.py": "", "a/b/__init__.py": "", "a/b/c.py": ""})
    c = str(tmp_path / "a/b/c.py")
    assert package_of(c, str(tmp_path)) == "a.b"
    assert package_of(str(tmp_path / "a/b/__init__.py"), str(tmp_path)) == "a.b"
    assert resolve_relative(".d", c, str(tmp_path)) == "a.b.d"
    assert resolve_relative("..d", c, str(tmp_path)) == "a.d"
    assert resolve_relative("...d", c, str(tmp_path)) == "d"
    assert resolve_relative("....d", c, str(tmp_path)) is None  # beyond the top package
    assert absolute("a.b", 1, "") == "a.b"
    assert absolute("a.b", 0, "json") == "json"


def run_dry(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asyncfix", "--dry-run", "--no-cache", *args, str(project)],
        capture_output=True,
        text=True,
        cwd=project,
    )


def test_stdlib_and_library_imports_never_resolve_into_the_project(tmp_path):
    # Every file below would be made async if `functools`, `logging` or `requests` were
    # taken for the project's modules of those basenames.
    write(
        tmp_path,
        {
            "pyproject.toml": "",
            "vendor/anyio/__init__.py": "",
            "vendor/anyio/functools.py": "async def reduce(f, xs):\n    return xs\n",
            "utils/functools.py": "async def partial(f):\n    return f\n",
            "app/__init__.py": "",
            "app/logging.py": "async def getLogger(name):\n    return name\n",
            "app/http/__init__.py": "",
            "app/http/requests.py": "async def get(url):\n    return url\n",
            "app/service.py": """
            import logging
            import requests
            from functools import reduce, partial

            def total(xs):
                return reduce(lambda a, b: a + b, xs)

            def log():
                return logging.getLogger(__name__)

            def fetch():
                return requests.get("http://x")

            def bind(f):
                return partial(f)
            """,
        },
    )
    result = run_dry(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_project_imports_resolve_through_reexports_and_script_folders(tmp_path):
    # The positive side: project definitions are found through a package __init__ re-export,
    # a relative import two levels up, and a script folder's bare import.
    write(
        tmp_path,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/core/__init__.py": "from .client import fetch\n",
            "app/core/client.py": "import asyncio\n\nasync def fetch():\n    await asyncio.sleep(0)\n",
            "app/api/__init__.py": "",
            "app/api/v1/__init__.py": "",
            "app/api/v1/routes.py": """
            from ...core import fetch

            async def route():
                return fetch()
            """,
            "flat/database.py": "async def get_db():\n    return 1\n",
            "flat/main.py": """
            from database import get_db

            async def handler():
                return get_db()
            """,
        },
    )
    result = run_dry(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "+    return await fetch()" in result.stdout
    assert "+    return await get_db()" in result.stdout


@pytest.mark.parametrize("name", ["functools", "json", "asyncio", "requests", "sqlalchemy"])
def test_external_names(name):
    assert resolve.external(name)


def test_external_is_not_everything():
    assert not resolve.external("my_app_models")
    assert os.path.basename(resolve.__file__) == "resolve.py"
