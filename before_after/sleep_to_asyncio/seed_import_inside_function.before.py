"""Seed: "Pitfall 1: Using Blocking Code in Async Functions"."""
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/users")
async def get_users():
    # time.sleep() blocks the entire event loop!
    import time
    time.sleep(5)  # BAD: Blocks all other requests
    return {"users": []}


async def my_endpoint():
    import time as t

    t.sleep(3)  # Blocking operation!
    return {"message": "This will block the event loop"}
