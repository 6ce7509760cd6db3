"""await_coroutines: the project-wide await pass, unit cases, and the runtime claim."""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from asyncfix.cli import main
from click.testing import CliRunner
from conftest import GOLDEN, check_noop, check_transformed

SELECT = {"select": ["await_coroutines"], "fmt": False}
PROJECT = GOLDEN / "await_coroutines" / "multi_module.before"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "async def f():\n    return 1\nasync def g():\n    x = f()\n    return x\n",
            "async def f():\n    return 1\nasync def g():\n    x = await f()\n    return x\n",
            id="stored-then-used-as-data",
        ),
        pytest.param(
            "async def f():\n    return 1\ndef g():\n    return f() + 1\ndef h():\n    g()\n",
            "async def f():\n    return 1\nasync def g():\n    return await f() + 1\nasync def h():\n    await g()\n",
            id="propagates-twice",
        ),
        pytest.param(
            "async def f():\n    return 1\ndef outer():\n    def inner():\n        return f()\n    return inner() + 1\n",
            "async def f():\n    return 1\nasync def outer():\n    async def inner():\n        return await f()\n    return await inner() + 1\n",
            id="nested-def",
        ),
        pytest.param(
            "async def f():\n    return {'a': 1}\nasync def g():\n    return f()['a']\n",
            "async def f():\n    return {'a': 1}\nasync def g():\n    return (await f())['a']\n",
            id="precedence-subscript",
        ),
        pytest.param(
            "async def f():\n    return 1\ndef g():\n    return f() + 1\n"
            "def h(bag):\n    x = g()\n    bag.add(x)\n    return x\n",
            "async def f():\n    return 1\nasync def g():\n    return await f() + 1\n"
            "async def h(bag):\n    x = await g()\n    bag.add(x)\n    return x\n",
            # g returned a value before this run: x held that value, so it is awaited where it
            # is made even though it is handed on (crud's `db_user = get_user(...)` then
            # `session.add(db_user)` in fastapi/full-stack-fastapi-template)
            id="made-async-then-handed-on",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, **SELECT)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def f():\n    return 1\nasync def g():\n    return f()\n", id="sync-callee"),
        pytest.param(
            "async def f():\n    return 1\nasync def g(f):\n    return f()\n",
            id="parameter-shadows",
        ),
        pytest.param("async def g(client):\n    return client.get('x')\n", id="unknown-receiver"),
        pytest.param(
            "async def gen():\n    yield 1\nasync def g():\n    return [x async for x in gen()]\n",
            id="async-generator",
        ),
        pytest.param(
            "import asyncio\nasync def f():\n    return 1\nasync def g():\n    c = f()\n    t = asyncio.ensure_future(c)\n    return await t\n",
            id="stored-then-handed",
        ),
        pytest.param(
            "from elsewhere import fetch\nasync def g():\n    return fetch()\n", id="unresolvable"
        ),
    ],
)
def test_noop(source: str):
    assert check_noop(source, **SELECT) == []


def test_sleep_in_a_function_that_becomes_async_is_rewritten_in_the_same_run():
    before = (
        "import time\n\nasync def fetch():\n    return 1\n\n"
        "def helper():\n    time.sleep(0.1)\n    return fetch()\n"
    )
    after = (
        "import asyncio\n\nasync def fetch():\n    return 1\n\n"
        "async def helper():\n    await asyncio.sleep(0.1)\n    return await fetch()\n"
    )
    check_transformed(before, after, select=["await_coroutines", "sleep_to_asyncio"], fmt=False)


def test_output_does_not_depend_on_file_order_or_jobs(tmp_path: Path):
    outputs = []
    for jobs in ("1", "2"):
        copy = tmp_path / f"run{jobs}"
        shutil.copytree(PROJECT, copy)
        result = CliRunner().invoke(main, ["--apply", "--jobs", jobs, str(copy)])
        assert result.exit_code == 0, result.output
        outputs.append({p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.py")})
    assert outputs[0] == outputs[1]


def _serve(root: Path, route: str):
    """Import root/profiles/main.py freshly and answer one request through ASGI."""
    for name in [m for m in sys.modules if m == "profiles" or m.startswith("profiles.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        app = importlib.import_module("profiles.main").app
    finally:
        sys.path.remove(str(root))

    async def call():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(route)

    return asyncio.run(call())


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_multi_module_app_answers_correctly_after_apply(tmp_path: Path):
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    # Before: the sync helper returns coroutine objects; FastAPI cannot serialise them.
    assert _serve(root, "/profile/1").status_code == 500

    result = CliRunner().invoke(main, ["--apply", str(root)])
    assert result.exit_code == 0, result.output
    assert "await_coroutines 6" in result.stderr

    response = _serve(root, "/profile/1")
    assert response.status_code == 200
    assert response.json() == {"id": 1, "name": "user-1", "score": 10}
    batch = _serve(root, "/batch").json()["profiles"]
    assert [p["score"] for p in batch] == [0, 10, 20]
    assert _serve(root, "/task").json() == {"id": 7, "name": "user-7"}
    again = CliRunner().invoke(main, ["--check", str(root)])
    assert again.exit_code == 0, again.output


def _mypy(targets, cwd: Path, cache: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--ignore-missing-imports",
            "--no-incremental",
            "--cache-dir",
            str(cache),
            "--explicit-package-bases",
            "--enable-error-code",
            "unused-coroutine",
            *map(str, targets),
        ],
        capture_output=True,
        text=True,
        cwd=str(cwd),
    )
    # mypy did run and check the files (it prints a summary line either way).
    assert "Success" in result.stdout or "Found" in result.stdout, result.stdout + result.stderr
    return result.stdout


# mypy's two ways of saying a coroutine was used without await: `unused-coroutine` for a
# dropped one, a note on the type error for one used as its result.
FORGOT_AWAIT = ("Are you missing an await", 'Maybe you forgot to use "await"')


def test_mypy_finds_no_missing_await_in_rewritten_goldens(tmp_path: Path):
    """mypy is the checker-side twin of this codemod: it flags the inputs, and nothing it
    fixed may be left for mypy to find in the outputs."""
    pytest.importorskip("mypy")
    before = _mypy(["profiles"], PROJECT, tmp_path / "before")
    assert any(note in before for note in FORGOT_AWAIT), before
    after_project = PROJECT.with_name("multi_module.after")
    singles = [
        path
        for path in sorted((GOLDEN / "await_coroutines").glob("*.after.py"))
        if path.name != "boundaries.after.py"  # reported on purpose, not fixed
    ]
    for targets, cwd in (([Path("profiles")], after_project), (singles, GOLDEN)):
        output = _mypy(targets, cwd, tmp_path / "after")
        assert not any(note in output for note in FORGOT_AWAIT), output
