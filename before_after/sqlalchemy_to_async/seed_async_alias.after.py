# An async route handed a sync Session through an `Annotated` alias blocks the loop: the
# closure converts (the sync route sharing the alias with it).
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine("sqlite+aiosqlite:///./a.db")
app = FastAPI()


async def get_db() -> AsyncGenerator[AsyncSession, None]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_db)]


@app.get("/a")
async def a(session: SessionDep):
    return (await session.exec(select(1))).first()


@app.get("/b")
async def b(session: SessionDep):
    return (await session.exec(select(1))).first()
