from typing import List, Optional

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import ForeignKey, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_async_engine("sqlite+aiosqlite:///./notes.db")
SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
app = FastAPI()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]


async def get_db():
    async with SessionLocal() as db:
        yield db


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


async def get_users(db: AsyncSession = Depends(get_db)) -> UserRepository:
    return UserRepository(db)


@app.get("/users/count")
async def count_users(users: UserRepository = Depends(get_users)) -> dict:
    return {"count": await users.count()}


@app.post("/users/{email}", status_code=201)
async def create_user(email: str, db: AsyncSession = Depends(get_db)):
    users = UserRepository(db)
    if await users.get_by_email(email) is not None:
        raise HTTPException(status_code=409)
    user = await users.add(User(email=email))
    await db.commit()
    return {"id": user.id, "total": await users.count()}


@app.get("/users/{user_id}/notes")
async def read_notes(user_id: int, db: AsyncSession = Depends(get_db)):
    return [note.id for note in await NoteRepository(db).for_author(user_id)]


@app.get("/notes/search")
async def search(q: str, db: AsyncSession = Depends(get_db)):
    return await NoteRepository(db).search(q)


@app.delete("/notes/{note_id}", status_code=204)
async def delete_note(note_id: int, db: AsyncSession = Depends(get_db)):
    if not await NoteRepository(db).delete(note_id):
        raise HTTPException(status_code=404)
    await db.commit()
