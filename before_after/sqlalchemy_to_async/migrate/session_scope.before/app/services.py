from typing import List, Optional

from app.db import session_scope
from app.models import Note, User
from app.repositories import NoteRepository, UserRepository


class DuplicateEmail(Exception):
    pass


class UnknownUser(Exception):
    pass


def register_user(email: str, name: str) -> User:
    with session_scope() as session:
        users = UserRepository(session)
        if users.get_by_email(email) is not None:
            raise DuplicateEmail(email)
        return users.add(User(email=email, name=name))


def find_user(user_id: int) -> Optional[User]:
    with session_scope() as session:
        return UserRepository(session).get(user_id)


def list_users() -> List[User]:
    with session_scope() as session:
        return UserRepository(session).list()


def write_note(user_id: int, body: str) -> Note:
    with session_scope() as session:
        if UserRepository(session).get(user_id) is None:
            raise UnknownUser(user_id)
        return NoteRepository(session).add(Note(author_id=user_id, body=body))


def notes_of(user_id: int) -> List[Note]:
    with session_scope() as session:
        return NoteRepository(session).for_author(user_id)


def search_notes(word: str) -> List[int]:
    with session_scope() as session:
        return NoteRepository(session).search(word)


def remove_note(note_id: int) -> bool:
    with session_scope() as session:
        return NoteRepository(session).delete(note_id)
