"""Seed: "Threading conflicts when running CPU-bound tasks in event loops" (cpu_intensive_task)."""
import asyncio
import functools
import hashlib
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI


@functools.cache
def _cpu_bound_executor() -> ProcessPoolExecutor:
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.

    The app's lifespan shuts it down at exit; a use after that makes a new one.
    """
    return ProcessPoolExecutor()


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    if _cpu_bound_executor.cache_info().currsize:
        await asyncio.to_thread(_cpu_bound_executor().shutdown)
        _cpu_bound_executor.cache_clear()


app = FastAPI(lifespan=lifespan)


def cpu_intensive_task():
    return sum(i * i for i in range(10**6))


@app.get("/compute")
async def compute():
    # Pure-Python work holds the GIL: it needs a process pool.
    result = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), cpu_intensive_task
    )
    return {"result": result}


@app.get("/hash")
async def hash_password(password: str):
    # OpenSSL releases the GIL: the default thread pool is enough.
    digest = await asyncio.to_thread(
        hashlib.pbkdf2_hmac, "sha256", password.encode(), b"pepper", 100_000
    )
    return {"digest": digest.hex()}


@app.get("/ping")
async def ping():
    return {"msg": "pong"}


@app.get("/compute-sync")
def compute_sync():
    """A sync route already runs in FastAPI's threadpool: left alone."""
    return {"result": cpu_intensive_task()}
