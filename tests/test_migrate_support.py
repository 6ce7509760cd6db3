"""The checks of the ``--migrate`` harness (``tests/migrate_support.py``), on small trees.

The scans must flag sync code and accept the async forms, and a suite's outcome is read as a
clean run only when it is one; the apps themselves run in ``tests/test_migrate_<app>.py``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict

import pytest
from migrate_support import (
    REQUIREMENTS,
    App,
    async_engines,
    client_tests,
    passed,
    requirements,
    sync_defs,
    sync_sqlalchemy_uses,
)


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
