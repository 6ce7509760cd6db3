"""An app that already has a lifespan: the shared client is closed in its `finally`."""

import asyncio
import ssl
import weakref
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI

from .cache import Cache

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

# The app's HTTP clients (added by asyncfix): event loop -> client, see http_client().
_HTTP_CLIENTS: "weakref.WeakKeyDictionary[object, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    """The app's HTTP client (added by asyncfix): one connection pool for its calls.

    Made on first use, so it exists whether or not the lifespan ran, and one per event
    loop: a connection belongs to the loop that opened it (a TestClient used without
    `with` runs each request on a new loop). The app's lifespan closes it. It keeps no
    cookies: requests' functions started every call with an empty cookie jar.
    """
    loop = asyncio.get_running_loop()
    if loop not in _HTTP_CLIENTS:
        _HTTP_CLIENTS[loop] = httpx.AsyncClient(
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=True,
            timeout=None,
        )
    return _HTTP_CLIENTS[loop]


@asynccontextmanager
async def lifespan(app: FastAPI):
    cache = Cache()
    await cache.connect()
    try:
        yield {"cache": cache}
    finally:
        await cache.close()
        if asyncio.get_running_loop() in _HTTP_CLIENTS:
            await _HTTP_CLIENTS.pop(asyncio.get_running_loop()).aclose()


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


@app.post("/partner/orders")
async def partner_order(order: dict):
    # The partner's login sets a session cookie the order call must carry.
    # A client of its own, as the session was: its cookies stay in this block.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as session:
        await session.post("https://partner.example.com/login", json={"key": "demo"})
        response = await session.post("https://partner.example.com/orders", json=order)
        return response.json()
