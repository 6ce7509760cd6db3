from typing import List, Optional

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import ForeignKey, create_engine, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

engine = create_engine("sqlite:///./notes.db")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


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


def get_users(db: Session = Depends(get_db)) -> UserRepository:
    return UserRepository(db)


@app.get("/users/count")
def count_users(users: UserRepository = Depends(get_users)) -> dict:
    return {"count": users.count()}


@app.post("/users/{email}", status_code=201)
def create_user(email: str, db: Session = Depends(get_db)):
    users = UserRepository(db)
    if users.get_by_email(email) is not None:
        raise HTTPException(status_code=409)
    user = users.add(User(email=email))
    db.commit()
    return {"id": user.id, "total": users.count()}


@app.get("/users/{user_id}/notes")
def read_notes(user_id: int, db: Session = Depends(get_db)):
    return [note.id for note in NoteRepository(db).for_author(user_id)]


@app.get("/notes/search")
def search(q: str, db: Session = Depends(get_db)):
    return NoteRepository(db).search(q)


@app.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: int, db: Session = Depends(get_db)):
    if not NoteRepository(db).delete(note_id):
        raise HTTPException(status_code=404)
    db.commit()
