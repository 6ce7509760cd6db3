from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from sql_app.database import Base
from sql_app.main import app, get_db

SQLALCHEMY_DATABASE_URL = "sqlite://"

engine = create_engine(
    SQLALCHEMY_DATABASE_URL,
    connect_args={"check_same_thread": False},
    poolclass=StaticPool,
)
TestingSessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)


Base.metadata.create_all(bind=engine)


def override_get_db():
    try:
        db = TestingSessionLocal()
        yield db
    finally:
        db.close()


app.dependency_overrides[get_db] = override_get_db

client = TestClient(app)


def test_create_user():
    response = client.post(
        "/users/",
        json={"email": "deadpool@example.com", "password": "chimichangas4life"},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["email"] == "deadpool@example.com"
    assert "id" in data
    user_id = data["id"]

    response = client.get(f"/users/{user_id}")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["email"] == "deadpool@example.com"
    assert data["id"] == user_id
    assert data["items"] == []


def test_create_user_duplicate_email():
    payload = {"email": "twice@example.com", "password": "secret"}
    assert client.post("/users/", json=payload).status_code == 200
    response = client.post("/users/", json=payload)
    assert response.status_code == 400
    assert response.json() == {"detail": "Email already registered"}


def test_read_missing_user():
    response = client.get("/users/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_read_users_nests_items():
    response = client.post("/users/", json={"email": "owner@example.com", "password": "pw"})
    user_id = response.json()["id"]
    for title in ("first", "second"):
        response = client.post(f"/users/{user_id}/items/", json={"title": title})
        assert response.status_code == 200, response.text

    response = client.get("/users/", params={"limit": 1000})
    assert response.status_code == 200, response.text
    owners = [user for user in response.json() if user["id"] == user_id]
    assert len(owners) == 1
    assert [item["title"] for item in owners[0]["items"]] == ["first", "second"]
    assert all(item["owner_id"] == user_id for item in owners[0]["items"])


def test_override_session_is_closed_after_request():
    # The override's finally must run: every session it opened is closed again.
    opened = []

    def tracking_override():
        try:
            db = TestingSessionLocal()
            opened.append(db)
            yield db
        finally:
            db.close()

    app.dependency_overrides[get_db] = tracking_override
    try:
        response = client.get("/users/")
    finally:
        app.dependency_overrides[get_db] = override_get_db
    assert response.status_code == 200
    assert len(opened) == 1
    assert not opened[0].in_transaction()
