# A `Query` kept in a variable, refined by conditional filters, finished later: the variable
# becomes a select(), awaited where it is finished (--migrate, or any conversion).
from typing import Optional

from sqlalchemy import Column, ForeignKey, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    title = Column(String)
    author_id = Column(Integer, ForeignKey("books.id"))


async def search_books(db: AsyncSession, text: str, author_id: Optional[int] = None):
    query = select(Book).filter(Book.title.ilike(f"%{text}%"))
    if author_id is not None:
        query = query.filter(Book.author_id == author_id)
    return (await db.execute(query.order_by(Book.id))).scalars().all()


async def count_books(db: AsyncSession, text: str):
    q = select(Book).filter(Book.title.ilike(f"%{text}%"))
    return await db.scalar(select(func.count()).select_from(q.subquery()))


async def first_title(db: AsyncSession):
    q = select(Book.title).order_by(Book.id)
    return (await db.execute(q.limit(1))).first()
