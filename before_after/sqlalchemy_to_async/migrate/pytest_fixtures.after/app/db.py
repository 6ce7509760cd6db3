from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./app.db")


async def ping(db_engine: AsyncEngine) -> int:
    async with AsyncSession(db_engine, expire_on_commit=False) as session:
        return (await session.execute(text("SELECT 1"))).scalar_one()


async def count_rows(session: AsyncSession) -> int:
    result = await session.execute(text("SELECT count(*) FROM sqlite_master"))
    return result.scalar_one()
