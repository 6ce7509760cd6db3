from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_async_engine(
    "sqlite+aiosqlite:///database.db", connect_args={"check_same_thread": False}
)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)


async def get_session():
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


@app.get("/heroes/")
async def read_heroes(session: AsyncSession = Depends(get_session)):
    return (await session.exec(select(Hero))).all()
