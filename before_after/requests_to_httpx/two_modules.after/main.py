from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import close_http_client, geocode, http_client


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    await close_http_client()


app = FastAPI(title="stores", lifespan=lifespan)

INVENTORY = "https://inventory.example.com"


@app.get("/stores/near")
async def stores_near(address: str):
    place = await geocode(address)
    stock = await http_client().get(
        f"{INVENTORY}/stores", params={"lat": place["lat"], "lon": place["lon"]}
    )
    return stock.json()
