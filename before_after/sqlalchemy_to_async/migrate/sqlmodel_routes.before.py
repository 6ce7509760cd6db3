from fastapi import Depends, FastAPI
from sqlmodel import Session, select

from database import get_session
from models import Hero

app = FastAPI()


@app.get("/heroes/")
def read_heroes(session: Session = Depends(get_session)):
    heroes = session.exec(select(Hero)).all()
    return heroes


@app.get("/heroes/{hero_id}")
def read_hero(hero_id: int, session: Session = Depends(get_session)):
    return session.query(Hero).filter(Hero.id == hero_id).first()


@app.post("/heroes/")
def create_hero(hero: Hero, session: Session = Depends(get_session)):
    session.add(hero)
    session.commit()
    session.refresh(hero)
    return hero
