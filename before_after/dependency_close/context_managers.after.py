"""Generators used as context managers (not FastAPI dependencies) get the same treatment."""
import contextlib
from contextlib import asynccontextmanager

import httpx


@contextlib.contextmanager
def open_report(path):
    handle = open(path, "w")
    try:
        yield handle
    finally:
        handle.close()


@asynccontextmanager
async def http_client():
    client = httpx.AsyncClient()
    try:
        yield client
    finally:
        await client.aclose()
