import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = os.environ.get("NOTES_DATABASE_URL", "sqlite:///./notes.db")

engine = create_async_engine(make_url(DATABASE_URL).set(drivername="sqlite+aiosqlite"))
SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """Provide a transactional scope around a series of operations."""
    session = SessionLocal()
    try:
        yield session
        await session.commit()
    except Exception:
        await session.rollback()
        raise
    finally:
        await session.close()


async def create_tables() -> None:
    from app import models  # noqa: F401  (registers the tables on Base.metadata)

    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def database_ok() -> bool:
    async with session_scope() as session:
        return (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def schema_version() -> int:
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE IF NOT EXISTS meta (version INTEGER)")
        )
        result = await connection.execute(text("SELECT count(*) FROM meta"))
        return result.scalar_one()
