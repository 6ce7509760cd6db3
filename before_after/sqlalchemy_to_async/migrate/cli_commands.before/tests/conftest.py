import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.cli import create_user, reset_db

app = FastAPI()


def create_api_client_authenticated(username):
    create_user(f"{username}@example.com", username)
    return TestClient(app)


@pytest.fixture(scope="session", autouse=True)
def tables():
    reset_db(force=True, create=True)


@pytest.fixture
def api_client_user1():
    return create_api_client_authenticated("user1")
