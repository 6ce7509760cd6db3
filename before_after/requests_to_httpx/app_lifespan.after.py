"""An app that already has a lifespan: the shared client is closed in its `finally`."""

import functools
import ssl
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI

from .cache import Cache


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
    cache = Cache()
    await cache.connect()
    try:
        yield {"cache": cache}
    finally:
        await cache.close()
        await http_client().aclose()
        http_client.cache_clear()


app = FastAPI(title="rates", lifespan=lifespan)


@app.get("/rates/{currency}")
async def rates(currency: str):
    response = await http_client().get(
        "https://rates.example.com/latest", params={"base": currency}
    )
    response.raise_for_status()
    return response.json()


@app.get("/partner/{currency}")
async def partner_rates(currency: str):
    # The partner's own CA: this call keeps a client of its own.
    # A client of its own: its verify=/cert=/cookies= hold for these calls only.
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile="partner-ca.pem"),
        follow_redirects=True,
        timeout=None,
    ) as client:
        response = await client.get(
            "https://partner.example.com/rates", params={"base": currency}
        )
    return response.json()
