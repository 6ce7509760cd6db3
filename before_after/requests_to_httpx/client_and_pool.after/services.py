import asyncio
import functools
import weakref
from concurrent.futures import ProcessPoolExecutor
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx


@functools.cache
def process_pool() -> ProcessPoolExecutor:
    """The app's process pool (added by asyncfix): one for all its modules.

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    The app's lifespan shuts it down; a use after that makes a new one.
    """
    return ProcessPoolExecutor()


async def close_process_pool() -> None:
    """Shuts the app's process pool down (the app's lifespan calls this)."""
    if process_pool.cache_info().currsize:
        await asyncio.to_thread(process_pool().shutdown)
        process_pool.cache_clear()


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


async def close_http_client() -> None:
    """Closes the running event loop's client (the app's lifespan calls this)."""
    client = _HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


PRICES = "https://prices.example.com"


def fingerprint(item_id: int) -> int:
    value = item_id
    for _ in range(1_000_000):
        value = (value * 1_103_515_245 + 12_345) % 2**31
    return value


async def enrich(item_id: int, item: dict) -> dict:
    price = (await http_client().get(f"{PRICES}/{item_id}", timeout=5)).json()
    return {
        **item,
        "price": price,
        "fingerprint": await asyncio.get_running_loop().run_in_executor(
            process_pool(), fingerprint, item_id
        ),
    }
