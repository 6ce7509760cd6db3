"""The HTTP client and the process pool of the app live in the module both are used from."""
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import close_http_client, close_process_pool, enrich, http_client


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    await close_http_client()
    await close_process_pool()


app = FastAPI(title="enricher", lifespan=lifespan)

UPSTREAM = "https://upstream.example.com"


@app.get("/items/{item_id}")
async def get_item(item_id: int):
    item = (await http_client().get(f"{UPSTREAM}/items/{item_id}")).json()
    return await enrich(item_id, item)
