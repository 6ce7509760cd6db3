from typing import List, Optional

from app.db import session_scope
from app.models import Note, User
from app.repositories import NoteRepository, UserRepository


class DuplicateEmail(Exception):
    pass


class UnknownUser(Exception):
    pass


async def register_user(email: str, name: str) -> User:
    async with session_scope() as session:
        users = UserRepository(session)
        if await users.get_by_email(email) is not None:
            raise DuplicateEmail(email)
        return await users.add(User(email=email, name=name))


async def find_user(user_id: int) -> Optional[User]:
    async with session_scope() as session:
        return await UserRepository(session).get(user_id)


async def list_users() -> List[User]:
    async with session_scope() as session:
        return await UserRepository(session).list()


async def write_note(user_id: int, body: str) -> Note:
    async with session_scope() as session:
        if await UserRepository(session).get(user_id) is None:
            raise UnknownUser(user_id)
        return await NoteRepository(session).add(Note(author_id=user_id, body=body))


async def notes_of(user_id: int) -> List[Note]:
    async with session_scope() as session:
        return await NoteRepository(session).for_author(user_id)


async def search_notes(word: str) -> List[int]:
    async with session_scope() as session:
        return await NoteRepository(session).search(word)


async def remove_note(note_id: int) -> bool:
    async with session_scope() as session:
        return await NoteRepository(session).delete(note_id)
