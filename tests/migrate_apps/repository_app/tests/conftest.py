import os
import tempfile

# app.db reads the URL at import: a database file of this test session, set before any import.
_DATA_DIR = tempfile.TemporaryDirectory(prefix="notes-tests-")
DATABASE_PATH = os.path.join(_DATA_DIR.name, "notes.db")
os.environ["NOTES_DATABASE_URL"] = f"sqlite:///{DATABASE_PATH}"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from app.db import create_tables  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def tables():
    create_tables()


@pytest.fixture
def client():
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def database_url() -> str:
    return os.environ["NOTES_DATABASE_URL"]
