from typing import AsyncIterator, List

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


async def get_user_repository() -> AsyncIterator[UserRepository]:
    async with session_scope() as session:
        yield UserRepository(session)


@app.get("/health")
async def health() -> dict:
    return {"database": await database_ok(), "schema": await schema_version()}


@app.post("/users", response_model=UserOut, status_code=201)
async def create_user(user: UserIn):
    try:
        return await services.register_user(user.email, user.name)
    except services.DuplicateEmail:
        raise HTTPException(status_code=409, detail="email already registered")


@app.get("/users", response_model=List[UserOut])
async def read_users():
    return await services.list_users()


@app.get("/users/count")
async def count_users(users: UserRepository = Depends(get_user_repository)) -> dict:
    return {"count": await users.count()}


@app.get("/users/{user_id}", response_model=UserOut)
async def read_user(user_id: int, users: UserRepository = Depends(get_user_repository)):
    user = await users.get(user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="user not found")
    return user


@app.post("/users/{user_id}/notes", response_model=NoteOut, status_code=201)
async def create_note(user_id: int, note: NoteIn):
    try:
        return await services.write_note(user_id, note.body)
    except services.UnknownUser:
        raise HTTPException(status_code=404, detail="user not found")


@app.get("/users/{user_id}/notes", response_model=List[NoteOut])
async def read_notes(user_id: int):
    return await services.notes_of(user_id)


@app.get("/notes/search", response_model=List[int])
async def search(q: str):
    return await services.search_notes(q)


@app.delete("/notes/{note_id}", status_code=204)
async def delete_note(note_id: int):
    if not await services.remove_note(note_id):
        raise HTTPException(status_code=404, detail="note not found")
