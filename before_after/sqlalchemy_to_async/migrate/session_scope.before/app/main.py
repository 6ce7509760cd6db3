from typing import Iterator, List

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict

from app import services
from app.db import database_ok, schema_version, session_scope
from app.repositories import UserRepository

app = FastAPI(title="notes")


class UserIn(BaseModel):
    email: str
    name: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str


class NoteIn(BaseModel):
    body: str


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int
    body: str


def get_user_repository() -> Iterator[UserRepository]:
    with session_scope() as session:
        yield UserRepository(session)


@app.get("/health")
def health() -> dict:
    return {"database": database_ok(), "schema": schema_version()}


@app.post("/users", response_model=UserOut, status_code=201)
def create_user(user: UserIn):
    try:
        return services.register_user(user.email, user.name)
    except services.DuplicateEmail:
        raise HTTPException(status_code=409, detail="email already registered")


@app.get("/users", response_model=List[UserOut])
def read_users():
    return services.list_users()


@app.get("/users/count")
def count_users(users: UserRepository = Depends(get_user_repository)) -> dict:
    return {"count": users.count()}


@app.get("/users/{user_id}", response_model=UserOut)
def read_user(user_id: int, users: UserRepository = Depends(get_user_repository)):
    user = users.get(user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="user not found")
    return user


@app.post("/users/{user_id}/notes", response_model=NoteOut, status_code=201)
def create_note(user_id: int, note: NoteIn):
    try:
        return services.write_note(user_id, note.body)
    except services.UnknownUser:
        raise HTTPException(status_code=404, detail="user not found")


@app.get("/users/{user_id}/notes", response_model=List[NoteOut])
def read_notes(user_id: int):
    return services.notes_of(user_id)


@app.get("/notes/search", response_model=List[int])
def search(q: str):
    return services.search_notes(q)


@app.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: int):
    if not services.remove_note(note_id):
        raise HTTPException(status_code=404, detail="note not found")
