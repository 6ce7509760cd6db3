import os

import pytest

from tests.postgresql import Cluster, unavailable

_cluster = None
_skip_reason = unavailable()


def pytest_configure(config):
    # app.database reads the URL at import, which happens at collection: start the server first.
    global _cluster, _skip_reason
    if _skip_reason is not None:
        return
    _cluster = Cluster()
    try:
        os.environ["BOOKSHELF_DATABASE_URL"] = _cluster.start()
    except RuntimeError as error:
        _cluster.stop()
        _cluster = None
        _skip_reason = f"could not start a PostgreSQL cluster: {error}"


def pytest_unconfigure(config):
    if _cluster is not None:
        from app.database import engine

        engine.dispose()
        _cluster.stop()


@pytest.fixture(scope="session", autouse=True)
def database():
    if _skip_reason is not None:
        pytest.skip(_skip_reason)
    from app.database import Base, engine
    from app import models  # noqa: F401

    Base.metadata.create_all(bind=engine)
    yield
    Base.metadata.drop_all(bind=engine)


@pytest.fixture
def client():
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as test_client:
        yield test_client
