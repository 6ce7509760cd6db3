from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///./app.db")


def ping(db_engine: Engine) -> int:
    with Session(db_engine) as session:
        return session.execute(text("SELECT 1")).scalar_one()


def count_rows(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
