import os
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

DATABASE_URL = os.environ.get("NOTES_DATABASE_URL", "sqlite:///./notes.db")

engine = create_engine(DATABASE_URL)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


@contextmanager
def session_scope() -> Iterator[Session]:
    """Provide a transactional scope around a series of operations."""
    session = SessionLocal()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def create_tables() -> None:
    from app import models  # noqa: F401  (registers the tables on Base.metadata)

    Base.metadata.create_all(engine)


def database_ok() -> bool:
    with session_scope() as session:
        return session.execute(text("SELECT 1")).scalar_one() == 1


def schema_version() -> int:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS meta (version INTEGER)"))
        return connection.execute(text("SELECT count(*) FROM meta")).scalar_one()
