"""No try at all: the code after the yield never runs when the route raises."""
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Security
from sqlalchemy.orm import Session

from .database import engine

router = APIRouter()


def get_db():
    db = Session(engine)
    try:
        yield db
        db.commit()
    finally:
        db.close()


async def get_client():
    client = httpx.AsyncClient(base_url="https://api.example.com")
    # the client is shared by the route's calls
    try:
        yield client
    finally:
        await client.aclose()


def get_http():
    http = httpx.Client(timeout=10)
    try:
        yield http
    finally:
        http.close()


@router.get("/items")
async def items(
    db: Annotated[Session, Depends(get_db)],
    client: httpx.AsyncClient = Depends(get_client),
    http: httpx.Client = Security(get_http, scopes=["items"]),
):
    return []
