"""A test double of what the SQLAlchemy conversion renames blocks the conversion (sqla_mocks).

The shape of fastapi/full-stack-fastapi-template's prestart tests: a script opens
``with Session(engine)``; its test patches ``<script module>.Session`` with a MagicMock set up
for ``__enter__`` and a sync ``exec``. Converted, the script reads ``AsyncSession`` and the patch
fails, so under ``--migrate`` nothing converts and SQLA008 names the test and the target. The
same app without the test converts (the control: the block is the double, nothing else).
"""

from __future__ import annotations

import dataclasses
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


def _project(root: Path, with_test: bool) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "db.py").write_text(DB)
    (root / "app" / "prestart.py").write_text(PRESTART)
    if with_test:
        (root / "tests").mkdir()
        (root / "tests" / "test_prestart.py").write_text(TEST)
    return root


def _run(root: Path):
    files, errors = discover([str(root)], ())
    assert not errors
    results = list(run(files, dataclasses.replace(MIGRATE, root=str(root)), jobs=1))
    changed = sorted(Path(r.path).name for r in results if r.status == CHANGED)
    codes = [(Path(r.path).name, d.code, d.message) for r in results for d in r.diagnostics]
    return changed, codes


def test_a_patched_session_blocks_the_conversion_and_is_named(tmp_path: Path):
    changed, codes = _run(_project(tmp_path / "p", with_test=True))
    assert changed == []
    blockers = [message for name, code, message in codes if code == "SQLA008"]
    assert len(blockers) == 1 and "`app.prestart.Session`" in blockers[0], codes
    assert "tests/test_prestart.py:9" in blockers[0]


def test_the_same_app_without_the_double_converts(tmp_path: Path):
    changed, codes = _run(_project(tmp_path / "p", with_test=False))
    assert changed == ["db.py", "prestart.py"], codes
