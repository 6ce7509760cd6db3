"""Dependencies that already release what they create on every path."""
import httpx
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
AsyncSessionLocal = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))

app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_async_db():
    async with AsyncSessionLocal() as db:
        yield db


async def get_client():
    client = httpx.AsyncClient()
    try:
        yield client
    except httpx.HTTPError:
        raise
    finally:
        if not client.is_closed:
            await client.aclose()


def get_other_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        shutdown(db)


def shutdown(db):
    db.close()


def get_file():
    with open("data.txt") as handle:
        yield handle


@app.get("/")
async def index(
    a=Depends(get_db),
    b=Depends(get_async_db),
    c=Depends(get_client),
    d=Depends(get_other_db),
    e=Depends(get_file),
):
    return {}
