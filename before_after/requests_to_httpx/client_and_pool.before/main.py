"""The HTTP client and the process pool of the app live in the module both are used from."""
import requests
from fastapi import FastAPI

from services import enrich

app = FastAPI(title="enricher")

UPSTREAM = "https://upstream.example.com"


@app.get("/items/{item_id}")
async def get_item(item_id: int):
    item = requests.get(f"{UPSTREAM}/items/{item_id}").json()
    return await enrich(item_id, item)
