# A URL from settings with SQLite's connect_args, sessions opened in coroutines, tables created
# in an async lifespan: every use of the engine converts, so the engine does.
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel, select

from config import settings
from models import Hero
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine(
    make_url(settings.database_url).set(drivername="sqlite+aiosqlite"),
    connect_args={"check_same_thread": False},
)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/heroes/")
async def read_heroes():
    async with AsyncSession(engine, expire_on_commit=False) as session:
        return (await session.exec(select(Hero))).all()


@app.post("/heroes/")
async def create_hero(hero: Hero):
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add(hero)
        await session.commit()
        await session.refresh(hero)
        return hero
