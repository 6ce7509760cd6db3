from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User

engine = create_async_engine("sqlite+aiosqlite:///./app.db")


async def init_db(session: AsyncSession) -> None:
    # Tables should be created with Alembic migrations; this app creates them here.
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)

    result = await session.exec(select(User).where(User.email == "admin@example.com"))
    user = result.first()
    if not user:
        session.add(User(email="admin@example.com"))
        await session.commit()
