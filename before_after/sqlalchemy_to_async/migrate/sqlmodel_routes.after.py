from fastapi import Depends, FastAPI
from sqlmodel import select

from database import get_session
from models import Hero
from sqlmodel.ext.asyncio.session import AsyncSession

app = FastAPI()


@app.get("/heroes/")
async def read_heroes(session: AsyncSession = Depends(get_session)):
    heroes = (await session.exec(select(Hero))).all()
    return heroes


@app.get("/heroes/{hero_id}")
async def read_hero(hero_id: int, session: AsyncSession = Depends(get_session)):
    return await session.scalar(select(Hero).filter(Hero.id == hero_id).limit(1))


@app.post("/heroes/")
async def create_hero(hero: Hero, session: AsyncSession = Depends(get_session)):
    session.add(hero)
    await session.commit()
    await session.refresh(hero)
    return hero
