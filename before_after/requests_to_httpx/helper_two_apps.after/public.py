import asyncio
import weakref
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI

from notify import notify

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
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    client = _HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


app = FastAPI(title="shop", lifespan=lifespan)

STOCK = "https://stock.example.com"


@app.post("/orders/{sku}")
async def order(sku: str):
    stock = (await http_client().get(f"{STOCK}/items/{sku}")).json()
    await notify(f"order for {sku}")
    return {"sku": sku, "left": stock["left"] - 1}
