"""Seed: "Threading conflicts when running CPU-bound tasks in event loops" (cpu_intensive_task)."""
import hashlib

from fastapi import FastAPI

app = FastAPI()


def cpu_intensive_task():
    return sum(i * i for i in range(10**6))


@app.get("/compute")
async def compute():
    # Pure-Python work holds the GIL: it needs a process pool.
    result = cpu_intensive_task()
    return {"result": result}


@app.get("/hash")
async def hash_password(password: str):
    # OpenSSL releases the GIL: the default thread pool is enough.
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), b"pepper", 100_000)
    return {"digest": digest.hex()}


@app.get("/ping")
async def ping():
    return {"msg": "pong"}


@app.get("/compute-sync")
def compute_sync():
    """A sync route already runs in FastAPI's threadpool: left alone."""
    return {"result": cpu_intensive_task()}
