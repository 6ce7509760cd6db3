"""Test doubles of what the SQLAlchemy conversion renames (sqla_mocks).

The shape of fastapi/full-stack-fastapi-template's prestart tests: a script opens
``with Session(engine)``; its test patches ``<script module>.Session`` with a MagicMock set up
for ``__enter__`` and a sync ``exec``. Converted, the script reads ``AsyncSession``: that double
gets its exact async twin (AsyncMock, ``__aenter__``, the patch target renamed) and the converted
test passes; a double configured any other way blocks the conversion, SQLA008 naming the test and
the target. The same app without the test converts (the control).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import sys
from pathlib import Path

from asyncfix.codemods.engine import CHANGED, run
from asyncfix.codemods.files import discover
from test_sqlalchemy_migrate import MIGRATE

DB = (
    "from sqlmodel import Session, create_engine, select\n\n"
    'engine = create_engine("sqlite:///./app.db")\n\n\n'
    "def get_db():\n"
    "    with Session(engine) as session:\n"
    "        yield session\n"
)
PRESTART = (
    "from sqlalchemy import Engine\n"
    "from sqlmodel import Session, select\n\n"
    "from app.db import engine\n\n\n"
    "def init(db_engine: Engine) -> None:\n"
    "    with Session(db_engine) as session:\n"
    "        session.exec(select(1))\n\n\n"
    "def main():\n"
    "    init(engine)\n"
)
TEST = (
    "from unittest.mock import MagicMock, patch\n\n"
    "from app.prestart import init\n\n\n"
    "def test_init():\n"
    "    session = MagicMock()\n"
    "    session.__enter__.return_value = session\n"
    '    with patch("app.prestart.Session", return_value=session):\n'
    "        init(MagicMock())\n"
    "    session.exec.assert_called_once()\n"
)
# the same double, but its exit is configured too: no twin is proven for that
OTHER = TEST.replace(
    "    session.__enter__.return_value = session\n",
    "    session.__enter__.return_value = session\n    session.__exit__.return_value = False\n",
)


def _project(root: Path, with_test: bool, test: str = TEST) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "db.py").write_text(DB)
    (root / "app" / "prestart.py").write_text(PRESTART)
    if with_test:
        (root / "tests").mkdir()
        (root / "tests" / "test_prestart.py").write_text(test)
    return root


def _run(root: Path):
    files, errors = discover([str(root)], ())
    assert not errors
    results = list(run(files, dataclasses.replace(MIGRATE, root=str(root)), jobs=1))
    for result in results:
        if result.status == CHANGED:
            Path(result.path).write_bytes(result.new)
    changed = sorted(Path(r.path).name for r in results if r.status == CHANGED)
    codes = [(Path(r.path).name, d.code, d.message) for r in results for d in r.diagnostics]
    return changed, codes


def _test_init(root: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m.split(".")[0] in ("app", "tests")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("tests.test_prestart").test_init


def test_the_double_of_a_converted_session_gets_its_async_twin_and_still_passes(
    tmp_path: Path, monkeypatch
):
    root = _project(tmp_path / "p", with_test=True)
    (root / "tests" / "__init__.py").write_text("")
    assert _test_init(root, monkeypatch)() is None  # the sync test passes before
    changed, codes = _run(root)
    assert changed == ["db.py", "prestart.py", "test_prestart.py"], codes
    test = (root / "tests" / "test_prestart.py").read_text()
    assert "from unittest.mock import AsyncMock, MagicMock, patch\n" in test
    assert "    session = AsyncMock()\n    session.__aenter__.return_value = session\n" in test
    assert 'patch("app.prestart.AsyncSession", return_value=session)' in test
    assert "async def test_init():" in test and "await init(MagicMock())" in test
    asyncio.run(_test_init(root, monkeypatch)())  # and the converted test passes after


def test_a_double_configured_otherwise_blocks_the_conversion_and_is_named(tmp_path: Path):
    changed, codes = _run(_project(tmp_path / "p", with_test=True, test=OTHER))
    assert changed == []
    blockers = [message for name, code, message in codes if code == "SQLA008"]
    assert len(blockers) == 1 and "`app.prestart.Session`" in blockers[0], codes
    assert "tests/test_prestart.py:10" in blockers[0]


def test_the_same_app_without_the_double_converts(tmp_path: Path):
    changed, codes = _run(_project(tmp_path / "p", with_test=False))
    assert changed == ["db.py", "prestart.py"], codes
