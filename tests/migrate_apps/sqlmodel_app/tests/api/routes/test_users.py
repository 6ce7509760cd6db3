from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import crud
from app.core.config import settings
from app.core.security import verify_password
from app.models import User, UserCreate
from tests.utils.utils import random_email, random_lower_string


def test_get_users_superuser_me(
    client: TestClient, superuser_token_headers: dict
) -> None:
    r = client.get(f"{settings.API_V1_STR}/users/me", headers=superuser_token_headers)
    current_user = r.json()
    assert current_user
    assert current_user["is_active"] is True
    assert current_user["is_superuser"]
    assert current_user["email"] == settings.FIRST_SUPERUSER


def test_read_user_me_nests_items(
    client: TestClient, normal_user_token_headers: dict
) -> None:
    r = client.post(
        f"{settings.API_V1_STR}/items/",
        headers=normal_user_token_headers,
        json={"title": "mine"},
    )
    assert r.status_code == 200, r.text
    item_id = r.json()["id"]
    r = client.get(f"{settings.API_V1_STR}/users/me", headers=normal_user_token_headers)
    assert r.status_code == 200, r.text
    assert item_id in [item["id"] for item in r.json()["items"]]


def test_create_user_new_email(
    client: TestClient, superuser_token_headers: dict, db: Session
) -> None:
    username = random_email()
    password = random_lower_string()
    data = {"email": username, "password": password}
    r = client.post(
        f"{settings.API_V1_STR}/users/",
        headers=superuser_token_headers,
        json=data,
    )
    assert 200 <= r.status_code < 300
    created_user = r.json()
    user = crud.get_user_by_email(session=db, email=username)
    assert user
    assert user.email == created_user["email"]


def test_create_user_by_normal_user(
    client: TestClient, normal_user_token_headers: dict
) -> None:
    data = {"email": random_email(), "password": random_lower_string()}
    r = client.post(
        f"{settings.API_V1_STR}/users/",
        headers=normal_user_token_headers,
        json=data,
    )
    assert r.status_code == 403


def test_retrieve_users(client: TestClient, superuser_token_headers: dict, db: Session) -> None:
    for _ in range(2):
        user_in = UserCreate(email=random_email(), password=random_lower_string())
        crud.create_user(session=db, user_create=user_in)

    r = client.get(f"{settings.API_V1_STR}/users/", headers=superuser_token_headers)
    all_users = r.json()

    assert len(all_users["data"]) > 1
    assert all_users["count"] == len(all_users["data"])
    for item in all_users["data"]:
        assert "email" in item


def test_update_password_me(
    client: TestClient, normal_user_token_headers: dict, db: Session
) -> None:
    new_password = random_lower_string()
    r = client.patch(
        f"{settings.API_V1_STR}/users/me",
        headers=normal_user_token_headers,
        json={"password": new_password},
    )
    assert r.status_code == 200, r.text
    user_db = db.exec(
        select(User).where(User.email == "normal-user@example.com")
    ).first()
    assert user_db
    db.refresh(user_db)
    assert verify_password(new_password, user_db.hashed_password)


def test_register_user(client: TestClient, db: Session) -> None:
    username = random_email()
    password = random_lower_string()
    full_name = random_lower_string()
    data = {"email": username, "password": password, "full_name": full_name}
    r = client.post(f"{settings.API_V1_STR}/users/signup", json=data)
    assert r.status_code == 200
    created_user = r.json()
    assert created_user["email"] == username
    assert created_user["full_name"] == full_name

    user_db = crud.get_user_by_email(session=db, email=username)
    assert user_db
    assert user_db.full_name == full_name


def test_delete_user_super_user(
    client: TestClient, superuser_token_headers: dict, db: Session
) -> None:
    user_in = UserCreate(email=random_email(), password=random_lower_string())
    user = crud.create_user(session=db, user_create=user_in)
    user_id = user.id
    r = client.delete(
        f"{settings.API_V1_STR}/users/{user_id}",
        headers=superuser_token_headers,
    )
    assert r.status_code == 200
    deleted_user = r.json()
    assert deleted_user["message"] == "User deleted successfully"
    db.expire_all()
    assert db.get(User, user_id) is None
