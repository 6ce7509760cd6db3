from typing import Optional

from sqlmodel import Session, select

from app.db import engine
from app.models import User


def user_for_token(token: str) -> Optional[User]:
    with Session(engine) as session:
        return session.exec(select(User).where(User.token == token)).first()
