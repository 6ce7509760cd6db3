import os
import subprocess
import sys
from pathlib import Path

from app import crud, schemas
from app.database import SessionLocal

PROJECT = Path(__file__).resolve().parents[1]


def test_search_is_case_insensitive(client):
    author_id = client.post("/authors/", json={"name": "Search Author"}).json()["id"]
    client.post(f"/authors/{author_id}/books/", json={"title": "The Left Hand of Darkness"})
    client.post(f"/authors/{author_id}/books/", json={"title": "The Dispossessed"})

    titles = [book["title"] for book in client.get("/books/search", params={"q": "DARK"}).json()]
    assert titles == ["The Left Hand of Darkness"]


def test_books_by_tag_use_jsonb(client):
    author_id = client.post("/authors/", json={"name": "Tag Author"}).json()["id"]
    client.post(
        f"/authors/{author_id}/books/", json={"title": "Dune", "tags": ["sf", "classic"]}
    )
    client.post(f"/authors/{author_id}/books/", json={"title": "Emma", "tags": ["classic"]})

    assert [book["title"] for book in client.get("/books/tagged/sf").json()] == ["Dune"]
    classics = [book["title"] for book in client.get("/books/tagged/classic").json()]
    assert classics == ["Dune", "Emma"]


def test_crud_with_a_session_of_the_app():
    db = SessionLocal()
    try:
        author = crud.create_author(db, schemas.AuthorCreate(name="Direct Author"))
        crud.create_book(db, schemas.BookCreate(title="Direct Book"), author_id=author.id)
        assert crud.get_author_by_name(db, "Direct Author").id == author.id
        assert [book.title for book in crud.search_books(db, "direct")] == ["Direct Book"]
    finally:
        db.close()


def test_init_db_script():
    process = subprocess.run(
        [sys.executable, "-m", "app.init_db"],
        cwd=PROJECT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout == "tables created\n"
