"""demote_to_def on single modules; whole apps with their suites and loop stalls are in
tests/test_blocking_chains.py."""

from __future__ import annotations

from conftest import check_noop, rewrite

SELECT = {"select": ["await_coroutines", "demote_to_def", "offload_to_thread"], "fmt": False}

ROUTE = """from fastapi import FastAPI
import time

app = FastAPI()


def slow_report():
    time.sleep(1)
    return "r"


@app.get("/report")
async def report():
    return {"report": slow_report()}
"""


def test_a_route_that_never_awaits_and_blocks_through_a_helper_is_demoted():
    out, diagnostics = rewrite(ROUTE, **SELECT)
    assert out == ROUTE.replace("async def report():", "def report():")
    assert diagnostics == []


def test_a_route_called_by_project_code_stays_a_coroutine():
    source = ROUTE + "\n\nasync def caller():\n    return await report()\n"
    out, diagnostics = rewrite(source, **SELECT)
    assert out == source  # not demoted; the call sits in a dict, so it is reported instead
    assert [d.code for d in diagnostics] == ["BLOCK001"]


def test_a_route_that_blocks_nothing_is_left_alone():
    check_noop(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\nasync def root():\n"
        "    return {'ok': True}\n",
        **SELECT,
    )


def test_a_session_alias_imported_from_another_module_is_followed(tmp_path):
    """`SessionDep = Annotated[Session, Depends(get_db)]` in deps.py, used by routes in other
    modules (directly and through a re-export): the alias is read where it is defined, so the
    sync session's calls are known to block and the routes that never await are demoted (the
    engine's URL gives no driver, so the engine stays sync: SQLA003)."""
    import subprocess
    import sys

    files = {
        "pyproject.toml": "",
        "deps.py": (
            "from typing import Annotated\n\n"
            "import os\n"
            "from fastapi import Depends\n"
            "from sqlalchemy import create_engine\n"
            "from sqlalchemy.orm import Session\n\n"
            'engine = create_engine(os.environ["DATABASE_URL"])\n\n\n'
            "def get_db():\n"
            "    with Session(engine) as session:\n"
            "        yield session\n\n\n"
            "SessionDep = Annotated[Session, Depends(get_db)]\n"
        ),
        "api.py": "from deps import SessionDep\n",
        "routes.py": (
            "from fastapi import APIRouter\n"
            "from sqlalchemy import text\n\n"
            "from api import SessionDep\n"
            "from deps import SessionDep as Direct\n\n"
            "router = APIRouter()\n\n\n"
            '@router.get("/a")\n'
            "async def a(session: SessionDep):\n"
            '    return session.execute(text("select 1")).scalar()\n\n\n'
            '@router.get("/b")\n'
            "async def b(session: Direct):\n"
            '    return session.execute(text("select 1")).scalar()\n'
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    before = (tmp_path / "routes.py").read_text()
    process = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--apply", "--no-cache", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert process.returncode in (0, 1), process.stderr
    after = (tmp_path / "routes.py").read_text()
    assert after == before.replace("async def a(", "def a(").replace("async def b(", "def b(")
    assert (tmp_path / "deps.py").read_text() == files["deps.py"]
