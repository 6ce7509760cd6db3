"""Sync code is correct as it is: FastAPI runs `def` routes in a threadpool."""
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/sync")
def sync_route():
    time.sleep(1)
    return {"ok": True}


async def outer():
    def helper():
        time.sleep(1)  # nested sync def: runs wherever it is called

    callback = lambda: time.sleep(1)  # noqa: E731

    class Config:
        pause = time.sleep(0)  # a class body is not the coroutine

    return helper, callback, Config
