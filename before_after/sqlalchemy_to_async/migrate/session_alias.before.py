from collections.abc import Generator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlmodel import Session, create_engine, select

engine = create_engine("sqlite:///./a.db")
app = FastAPI()


def get_db() -> Generator[Session, None, None]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]



@app.get("/b")
def b(session: SessionDep):
    return session.exec(select(1)).first()
