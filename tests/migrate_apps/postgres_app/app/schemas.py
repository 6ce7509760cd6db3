from datetime import datetime
from typing import List

from pydantic import BaseModel, ConfigDict


class BookBase(BaseModel):
    title: str
    tags: List[str] = []


class BookCreate(BookBase):
    pass


class Book(BookBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int


class AuthorCreate(BaseModel):
    name: str


class Author(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    books: List[Book] = []
