# Without --migrate: sync `def` routes on a sync Session run in FastAPI's threadpool and block
# nothing, whether the session arrives through `Depends(...)` or an `Annotated` alias.
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///./app.db", connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db():
    with SessionLocal() as db:
        yield db


SessionDep = Annotated[Session, Depends(get_db)]


@app.get("/one")
def one(db: Session = Depends(get_db)):
    return db.execute(select(1)).scalar()


@app.get("/two")
def two(db: SessionDep):
    return db.execute(select(2)).scalar()
