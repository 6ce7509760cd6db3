"""Database connection"""
from sqlmodel import Session, create_engine

engine = create_engine("postgresql://postgres:postgres@db:5432/pamps")


def get_session():
    with Session(engine) as session:
        yield session
