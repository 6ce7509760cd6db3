from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///./app.db")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db():
    with SessionLocal() as db:
        yield db


class Repo:
    def __init__(self, session: Session):
        self.session = session

    def one(self):
        return self.session.execute(text("SELECT 1")).scalar_one()


class Sub(Repo):
    def two(self):
        return self.session.execute(text("SELECT 2")).scalar_one()


@app.get("/")
def read(db: Session = Depends(get_db)):
    return Sub(db).two() + Sub(db).one()
