# A URL from settings with SQLite's connect_args, sessions opened in coroutines, tables created
# in an async lifespan: every use of the engine converts, so the engine does.
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session, SQLModel, create_engine, select

from config import settings
from models import Hero

engine = create_engine(settings.database_url, connect_args={"check_same_thread": False})


@asynccontextmanager
async def lifespan(app: FastAPI):
    SQLModel.metadata.create_all(engine)
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/heroes/")
async def read_heroes():
    with Session(engine) as session:
        return session.exec(select(Hero)).all()


@app.post("/heroes/")
async def create_hero(hero: Hero):
    with Session(engine) as session:
        session.add(hero)
        session.commit()
        session.refresh(hero)
        return hero
