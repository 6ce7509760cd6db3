# The URL comes from the environment; its default names the dialect, so the async driver is set
# where the engine is built, whatever URL the deployment provides.
import os

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://app@localhost/app")

engine = create_engine(DATABASE_URL, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db():
    with SessionLocal() as db:
        yield db


@app.get("/ping")
def ping(db: Session = Depends(get_db)):
    return {"ok": db.execute(text("SELECT 1")).scalar()}
