from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from database import Base
from main import app, get_db

SQLALCHEMY_DATABASE_URL = "sqlite+aiosqlite://"

engine = create_async_engine(
    SQLALCHEMY_DATABASE_URL,
    connect_args={"check_same_thread": False},
    poolclass=StaticPool,
)
TestingSessionLocal = async_sessionmaker(
    autoflush=False, bind=engine, expire_on_commit=False
)


async def override_get_db():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with TestingSessionLocal() as db:
        yield db


app.dependency_overrides[get_db] = override_get_db

client = TestClient(app)


def test_create_and_read_user_with_items():
    response = client.post("/users/", json={"email": "deadpool@example.com", "password": "x"})
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["email"] == "deadpool@example.com"
    assert user["items"] == []

    response = client.post("/users/", json={"email": "deadpool@example.com", "password": "x"})
    assert response.status_code == 400

    response = client.post(
        f"/users/{user['id']}/items/", json={"title": "katana", "description": "sharp"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["owner_id"] == user["id"]

    response = client.get(f"/users/{user['id']}")
    assert response.status_code == 200, response.text
    assert [item["title"] for item in response.json()["items"]] == ["katana"]

    response = client.get("/users/")
    assert response.status_code == 200, response.text
    assert [u["items"][0]["title"] for u in response.json()] == ["katana"]


def test_missing_user_is_404():
    assert client.get("/users/999").status_code == 404


def test_items_and_count():
    client.post("/users/", json={"email": "wolverine@example.com", "password": "y"})
    response = client.get("/users/count")
    assert response.status_code == 200
    assert response.json()["count"] >= 1
    response = client.get("/items/")
    assert response.status_code == 200
    assert all("title" in item for item in response.json())


def test_deactivate_user():
    user = client.post("/users/", json={"email": "cable@example.com", "password": "z"}).json()
    response = client.post(f"/users/{user['id']}/deactivate")
    assert response.json() == {"updated": 1}
    assert client.get(f"/users/{user['id']}").json()["is_active"] is False
    assert client.post("/users/12345/deactivate").json() == {"updated": 0}
