"""Engine URLs built by settings in another module (sqla_urls): the driver is proven where the
URL is built, by a literal scheme in a property, as in fastapi/full-stack-fastapi-template's
``create_engine(str(settings.SQLALCHEMY_DATABASE_URI))``. A field with a default is no proof
(the environment may name another database): it keeps SQLA003."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import sys
from pathlib import Path

import pytest
from asyncfix.codemods.engine import CHANGED, run
from asyncfix.codemods.files import discover
from test_sqlalchemy_migrate import MIGRATE

DB = (
    "from sqlalchemy import create_engine, text\n"
    "from sqlalchemy.orm import Session\n\n"
    "from app.config import settings\n\n"
    "engine = create_engine(str(settings.DATABASE_URI))\n\n\n"
    "def count(session: Session) -> int:\n"
    '    return session.execute(text("select 41 + 1")).scalar_one()\n\n\n'
    "def main() -> int:\n"
    "    with Session(engine) as session:\n"
    "        return count(session)\n"
)
SQLITE = (
    "class Settings:\n"
    '    DB_FILE: str = "app.db"\n\n'
    "    @property\n"
    "    def DATABASE_URI(self) -> str:\n"
    '        return f"sqlite:///{self.DB_FILE}"\n\n\n'
    "settings = Settings()\n"
)
PSYCOPG = (
    "from pydantic import PostgresDsn\n\n\n"
    "class Settings:\n"
    '    POSTGRES_SERVER: str = "localhost"\n\n'
    "    @property\n"
    "    def DATABASE_URI(self) -> PostgresDsn:\n"
    '        return PostgresDsn.build(scheme="postgresql+psycopg", host=self.POSTGRES_SERVER)\n\n\n'
    "settings = Settings()\n"
)
FIELD = 'class Settings:\n    DATABASE_URI: str = "sqlite:///app.db"\n\n\nsettings = Settings()\n'


def _project(root: Path, config: str) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "config.py").write_text(config)
    (root / "app" / "db.py").write_text(DB)
    return root


def _run(root: Path):
    files, errors = discover([str(root)], ())
    assert not errors
    results = list(run(files, dataclasses.replace(MIGRATE, root=str(root)), jobs=1))
    new = {Path(r.path).name: r.new.decode() for r in results if r.status == CHANGED}
    codes = [(Path(r.path).name, d.code) for r in results for d in r.diagnostics]
    return new, codes


def test_a_sqlite_url_from_a_settings_property_gets_its_async_driver_and_runs(
    tmp_path: Path, monkeypatch
):
    root = _project(tmp_path / "p", SQLITE)
    new, codes = _run(root)
    assert codes == []
    assert (
        'create_async_engine(\n    make_url(str(settings.DATABASE_URI)).set(drivername="sqlite+aiosqlite")\n)'
        in new["db.py"]
    ), new["db.py"]
    (root / "app" / "db.py").write_text(new["db.py"])
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        monkeypatch.delitem(sys.modules, name)
    db = importlib.import_module("app.db")
    assert db.engine.url.drivername == "sqlite+aiosqlite"

    async def go() -> int:
        try:
            return await db.main()
        finally:
            await db.engine.dispose()

    assert asyncio.run(go()) == 42


def test_a_psycopg_url_from_a_settings_property_is_kept_as_it_is(tmp_path: Path):
    new, codes = _run(_project(tmp_path / "p", PSYCOPG))
    assert codes == []
    assert "engine = create_async_engine(str(settings.DATABASE_URI))" in new["db.py"]


@pytest.mark.parametrize("config", [FIELD], ids=["field-with-default"])
def test_a_url_the_environment_may_change_is_no_proof(tmp_path: Path, config: str):
    new, codes = _run(_project(tmp_path / "p", config))
    assert new == {}
    assert ("db.py", "SQLA003") in codes
