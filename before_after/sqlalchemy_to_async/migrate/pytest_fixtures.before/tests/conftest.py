import pytest
from sqlalchemy.orm import Session

from app.db import engine


@pytest.fixture(scope="session")
def db():
    with Session(engine) as session:
        yield session


def pytest_sessionfinish(session, exitstatus):
    engine.dispose()
