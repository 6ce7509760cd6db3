import pytest

from app.db import session_scope
from app.models import Note, User
from app.repositories import NoteRepository, UserRepository


def test_user_repository_roundtrip():
    with session_scope() as session:
        users = UserRepository(session)
        user = users.add(User(email="repo@example.com", name="Repo"))
        user_id = user.id
        assert user_id is not None

    with session_scope() as session:
        users = UserRepository(session)
        assert users.get(user_id).email == "repo@example.com"
        assert users.get_by_email("repo@example.com").id == user_id
        assert users.get_by_email("nobody@example.com") is None
        assert user_id in [user.id for user in users.list()]


def test_session_scope_rolls_back_on_error():
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            UserRepository(session).add(User(email="rolled-back@example.com", name="No"))
            raise RuntimeError("boom")

    with session_scope() as session:
        assert UserRepository(session).get_by_email("rolled-back@example.com") is None


def test_note_repository_queries():
    with session_scope() as session:
        author = UserRepository(session).add(User(email="author@example.com", name="A"))
        notes = NoteRepository(session)
        first = notes.add(Note(author_id=author.id, body="buy milk"))
        second = notes.add(Note(author_id=author.id, body="call the plumber"))
        author_id = author.id

    with session_scope() as session:
        notes = NoteRepository(session)
        assert [note.id for note in notes.for_author(author_id)] == [first.id, second.id]
        assert notes.search("plumb") == [second.id]
        assert notes.delete(first.id) is True
        assert notes.delete(first.id) is False
