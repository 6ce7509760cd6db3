from fastapi import Depends, FastAPI, HTTPException
from sqlmodel import Session, select

from app.db import create_db_and_tables, get_session
from app.models import User
from app.security import user_for_token

app = FastAPI(on_startup=[create_db_and_tables])


@app.get("/users")
def list_users(session: Session = Depends(get_session)):
    return session.exec(select(User)).all()


@app.post("/users")
def create_user(user: User, session: Session = Depends(get_session)):
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


@app.get("/me")
def me(token: str):
    user = user_for_token(token)
    if user is None:
        raise HTTPException(status_code=401)
    return user
