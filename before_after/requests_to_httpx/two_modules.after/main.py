import functools
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI

from services import geocode


@functools.lru_cache(maxsize=None)
def http_client() -> httpx.AsyncClient:
    """The app's HTTP client (added by asyncfix): one connection pool for all calls.

    Made on first use, so it exists whether or not the lifespan ran (a TestClient
    without `with`); the lifespan closes it and a later use makes a new one. It keeps
    no cookies: requests' functions started every call with an empty cookie jar.
    """
    return httpx.AsyncClient(
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=True,
        timeout=None,
    )


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    await http_client().aclose()
    http_client.cache_clear()


app = FastAPI(title="stores", lifespan=lifespan)

INVENTORY = "https://inventory.example.com"


@app.get("/stores/near")
async def stores_near(address: str):
    place = await geocode(address)
    stock = await http_client().get(
        f"{INVENTORY}/stores", params={"lat": place["lat"], "lon": place["lon"]}
    )
    return stock.json()
