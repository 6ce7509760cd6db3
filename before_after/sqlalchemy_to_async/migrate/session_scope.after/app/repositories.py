from typing import List, Optional

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Note, User


class UserRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, id: int) -> Optional[User]:
        return await self.session.get(User, id)

    async def get_by_email(self, email: str) -> Optional[User]:
        result = await self.session.scalars(select(User).where(User.email == email))
        return result.first()

    async def list(self) -> List[User]:
        return list(await self.session.scalars(select(User).order_by(User.id)))

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def count(self) -> int:
        return (await self.session.execute(select(func.count(User.id)))).scalar_one()


class NoteRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def for_author(self, author_id: int) -> List[Note]:
        query = select(Note).filter(Note.author_id == author_id)
        return (await self.session.execute(query.order_by(Note.id))).scalars().all()

    async def add(self, note: Note) -> Note:
        self.session.add(note)
        await self.session.flush()
        return note

    async def delete(self, note_id: int) -> bool:
        note = await self.session.get(Note, note_id)
        if note is None:
            return False
        await self.session.delete(note)
        await self.session.flush()
        return True

    async def search(self, word: str) -> List[int]:
        rows = await self.session.execute(
            text("SELECT id FROM notes WHERE body LIKE :pattern ORDER BY id"),
            {"pattern": f"%{word}%"},
        )
        return [row.id for row in rows]
