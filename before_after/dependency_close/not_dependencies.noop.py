"""Generators that are not dependencies, and resources that come from elsewhere."""
import httpx
from fastapi import Depends, FastAPI
from sqlalchemy.orm import sessionmaker

from .pool import pool

SessionLocal = sessionmaker()
shared_client = httpx.AsyncClient()

app = FastAPI()


def batches():
    db = SessionLocal()  # a plain generator: whoever iterates it decides
    yield db


async def get_shared_client():
    yield shared_client  # module-level: lives as long as the app


def get_settings():
    settings = dict(debug=True)  # not a resource
    yield settings


def get_from_parameter(db=Depends(get_settings)):
    yield db


async def get_pooled():
    connection = pool.acquire()  # not ours to close: the pool releases it
    yield connection


def get_two():
    db = SessionLocal()
    yield db
    yield db  # more than one yield: not a dependency shape asyncfix rewrites


class Depends2:
    pass


def looks_like_one():
    db = SessionLocal()
    yield db


def unused_route(x=Depends2(looks_like_one)):
    return x


@app.get("/")
async def index(
    a=Depends(get_shared_client),
    b=Depends(get_from_parameter),
    c=Depends(get_pooled),
    d=Depends(get_settings),
    e=Depends(get_two),
):
    return {}
