"""What asyncfix reports instead of rewriting."""
import httpx
from fastapi import Depends, FastAPI

from vendor import VendorClient

app = FastAPI()


async def get_vendor():
    client = VendorClient()  # unknown class: close()? aclose()? nothing?
    yield client


def get_async_client():
    client = httpx.AsyncClient()  # needs `await client.aclose()` in a sync generator
    yield client


def get_created_inside():
    try:
        client = httpx.Client()
        yield client
    finally:
        pass


def get_sometimes_closed():
    client = httpx.Client()
    yield client
    if client.is_closed is False:
        client.close()


def get_closed_by_helper():
    client = httpx.Client()
    yield client
    release(client)


def release(client):
    client.close()


def get_ignored():
    client = httpx.Client()  # asyncfix: ignore
    yield client


@app.get("/")
async def index(
    a=Depends(get_vendor),
    b=Depends(get_async_client),
    c=Depends(get_created_inside),
    d=Depends(get_sometimes_closed),
    e=Depends(get_closed_by_helper),
    f=Depends(get_ignored),
):
    return {}
