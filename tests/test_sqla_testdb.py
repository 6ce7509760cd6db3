"""sqla_testdb.override_functions: the first pass's one answer to "which dependency overrides does
a test module's import-time DDL move into", which the transform (sqla_ddl) reads as it is."""

from __future__ import annotations

import ast
from typing import FrozenSet, Optional

import pytest
from asyncfix.codemods.sqla_testdb import override_functions

HEAD = (
    "from sqlalchemy import create_engine\n"
    "from sqlalchemy.orm import sessionmaker\n"
    "from app.main import app, get_db\n"
    "from app.models import Base\n\n"
    'engine = create_engine("sqlite://")\n'
    "TestingSessionLocal = sessionmaker(bind=engine)\n"
    "Base.metadata.create_all(bind=engine)\n\n"
)
OVERRIDE = (
    "def override_get_db():\n"
    "    db = TestingSessionLocal()\n"
    "    try:\n"
    "        yield db\n"
    "    finally:\n"
    "        db.close()\n\n"
)
INSTALL = "app.dependency_overrides[get_db] = override_get_db\n"

CASES = {
    "the override is the only user": (HEAD + OVERRIDE + INSTALL, frozenset({"override_get_db"})),
    "an override installed inside a fixture": (
        HEAD + OVERRIDE + "def client():\n    app.dependency_overrides[get_db] = override_get_db\n",
        frozenset({"override_get_db"}),
    ),
    "a test opens the factory itself": (
        HEAD + OVERRIDE + INSTALL + "def test_x():\n    TestingSessionLocal().close()\n",
        None,
    ),
    "a factory built from the factory, used by a test": (
        HEAD + OVERRIDE + INSTALL + "Other = TestingSessionLocal\n\n"
        "def test_x():\n    Other()\n",
        None,
    ),
    "no override at all": (HEAD + "def test_x():\n    pass\n", None),
    "an override that returns, not yields": (
        HEAD + "def override_get_db():\n    return TestingSessionLocal()\n\n" + INSTALL,
        frozenset(),
    ),
    "two functions of the override's name": (
        HEAD
        + OVERRIDE
        + "if True:\n"
        + "".join(f"    {line}\n" for line in OVERRIDE.split("\n"))
        + INSTALL,
        frozenset(),
    ),
}


@pytest.mark.parametrize("source,expected", CASES.values(), ids=list(CASES))
def test_override_functions(source: str, expected: Optional[FrozenSet[str]]):
    assert override_functions(ast.parse(source), "engine") == expected
