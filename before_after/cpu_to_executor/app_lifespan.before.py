"""An app with its own lifespan: the process pool (and the HTTP client) close in it."""

import contextlib

import requests
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.ready = True
    yield
    app.state.ready = False


app = FastAPI(lifespan=lifespan)


def score(n: int) -> int:
    return sum(i * i % 7 for i in range(10**6)) + n


@app.get("/score/{n}")
async def get_score(n: int):
    return {"score": score(n)}


@app.get("/mirror")
async def mirror(url: str):
    return requests.get(url).json()
