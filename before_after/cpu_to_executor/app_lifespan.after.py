"""An app with its own lifespan: the process pool (and the HTTP client) close in it."""

import asyncio
import contextlib
import functools
import weakref
from concurrent.futures import ProcessPoolExecutor
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI


@functools.cache
def _cpu_bound_executor() -> ProcessPoolExecutor:
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.

    The app's lifespan shuts it down at exit; a use after that makes a new one.
    """
    return ProcessPoolExecutor()


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


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.ready = True
    yield
    app.state.ready = False
    client = _HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
    if _cpu_bound_executor.cache_info().currsize:
        await asyncio.to_thread(_cpu_bound_executor().shutdown)
        _cpu_bound_executor.cache_clear()


app = FastAPI(lifespan=lifespan)


def score(n: int) -> int:
    return sum(i * i % 7 for i in range(10**6)) + n


@app.get("/score/{n}")
async def get_score(n: int):
    return {
        "score": await asyncio.get_running_loop().run_in_executor(
            _cpu_bound_executor(), score, n
        )
    }


@app.get("/mirror")
async def mirror(url: str):
    return (await http_client().get(url)).json()
