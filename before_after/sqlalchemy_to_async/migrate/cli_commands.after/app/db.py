"""Database connection"""
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine("postgresql+asyncpg://postgres:postgres@db:5432/pamps")


async def get_session():
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
