"""Database connection"""
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine(
    "sqlite+aiosqlite:///./pamps.db", connect_args={"check_same_thread": False}
)


async def get_session():
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
