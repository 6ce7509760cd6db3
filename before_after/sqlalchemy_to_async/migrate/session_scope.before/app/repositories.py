from typing import List, Optional

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import Note, User


class UserRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, id: int) -> Optional[User]:
        return self.session.get(User, id)

    def get_by_email(self, email: str) -> Optional[User]:
        return self.session.scalars(select(User).where(User.email == email)).first()

    def list(self) -> List[User]:
        return list(self.session.scalars(select(User).order_by(User.id)))

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def count(self) -> int:
        return self.session.execute(select(func.count(User.id))).scalar_one()


class NoteRepository:
    def __init__(self, session: Session):
        self.session = session

    def for_author(self, author_id: int) -> List[Note]:
        query = self.session.query(Note).filter(Note.author_id == author_id)
        return query.order_by(Note.id).all()

    def add(self, note: Note) -> Note:
        self.session.add(note)
        self.session.flush()
        return note

    def delete(self, note_id: int) -> bool:
        note = self.session.get(Note, note_id)
        if note is None:
            return False
        self.session.delete(note)
        self.session.flush()
        return True

    def search(self, word: str) -> List[int]:
        rows = self.session.execute(
            text("SELECT id FROM notes WHERE body LIKE :pattern ORDER BY id"),
            {"pattern": f"%{word}%"},
        )
        return [row.id for row in rows]
