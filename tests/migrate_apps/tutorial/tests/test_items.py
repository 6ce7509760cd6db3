from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from sql_app.database import Base
from sql_app.main import app, get_db

engine = create_engine(
    "sqlite://",
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


def create_user(email: str) -> int:
    response = client.post("/users/", json={"email": email, "password": "pw"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_create_item_for_user():
    user_id = create_user("items@example.com")
    response = client.post(
        f"/users/{user_id}/items/",
        json={"title": "Plumbus", "description": "A regular plumbus"},
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["title"] == "Plumbus"
    assert item["owner_id"] == user_id

    response = client.get(f"/users/{user_id}")
    assert response.status_code == 200, response.text
    assert [nested["id"] for nested in response.json()["items"]] == [item["id"]]


def test_read_items_paginates():
    user_id = create_user("many@example.com")
    ids = [
        client.post(f"/users/{user_id}/items/", json={"title": f"item {n}"}).json()["id"]
        for n in range(3)
    ]
    response = client.get("/items/", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert set(ids) <= {item["id"] for item in response.json()}

    response = client.get("/items/", params={"skip": 0, "limit": 2})
    assert len(response.json()) == 2


def test_delete_item():
    user_id = create_user("delete@example.com")
    item_id = client.post(f"/users/{user_id}/items/", json={"title": "gone"}).json()["id"]

    response = client.delete(f"/users/{user_id}/items/{item_id}")
    assert response.status_code == 204
    response = client.delete(f"/users/{user_id}/items/{item_id}")
    assert response.status_code == 404
    assert item_id not in [item["id"] for item in client.get(f"/users/{user_id}").json()["items"]]

