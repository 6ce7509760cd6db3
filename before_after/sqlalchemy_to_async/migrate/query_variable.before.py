# A `Query` kept in a variable, refined by conditional filters, finished later: the variable
# becomes a select(), awaited where it is finished (--migrate, or any conversion).
from typing import Optional

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    title = Column(String)
    author_id = Column(Integer, ForeignKey("books.id"))


def search_books(db: Session, text: str, author_id: Optional[int] = None):
    query = db.query(Book).filter(Book.title.ilike(f"%{text}%"))
    if author_id is not None:
        query = query.filter(Book.author_id == author_id)
    return query.order_by(Book.id).all()


def count_books(db: Session, text: str):
    q = db.query(Book).filter(Book.title.ilike(f"%{text}%"))
    return q.count()


def first_title(db: Session):
    q = db.query(Book.title).order_by(Book.id)
    return q.first()
