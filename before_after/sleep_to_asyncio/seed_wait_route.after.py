"""Seed: "Improper Sleep Call" -> "Correct Async Version"."""
import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


# Bad: blocks the event loop
@app.get("/wait")
async def wait():
    await asyncio.sleep(5)
    return {"msg": "done"}


@app.get("/sync-endpoint")
def sync_endpoint():
    """Synchronous endpoint - runs in a thread pool: correct as it is."""
    time.sleep(1)
    return {"message": "Sync operation"}
