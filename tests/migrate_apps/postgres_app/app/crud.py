from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models, schemas


def get_author(db: Session, author_id: int) -> Optional[models.Author]:
    return db.get(models.Author, author_id)


def get_author_by_name(db: Session, name: str) -> Optional[models.Author]:
    return db.query(models.Author).filter(models.Author.name == name).first()


def get_authors(db: Session, skip: int = 0, limit: int = 100) -> List[models.Author]:
    return db.scalars(
        select(models.Author).order_by(models.Author.id).offset(skip).limit(limit)
    ).all()


def create_author(db: Session, author: schemas.AuthorCreate) -> models.Author:
    db_author = models.Author(name=author.name)
    db.add(db_author)
    db.commit()
    db.refresh(db_author)
    return db_author


def create_book(db: Session, book: schemas.BookCreate, author_id: int) -> models.Book:
    db_book = models.Book(**book.model_dump(), author_id=author_id)
    db.add(db_book)
    db.commit()
    db.refresh(db_book)
    return db_book


def search_books(db: Session, text: str) -> List[models.Book]:
    query = db.query(models.Book).filter(models.Book.title.ilike(f"%{text}%"))
    return query.order_by(models.Book.id).all()


def books_tagged(db: Session, tag: str) -> List[models.Book]:
    statement = select(models.Book).where(models.Book.tags.contains([tag]))
    return db.execute(statement.order_by(models.Book.id)).scalars().all()
