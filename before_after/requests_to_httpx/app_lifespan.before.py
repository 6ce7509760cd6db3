"""An app that already has a lifespan: the shared client is closed in its `finally`."""

from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI

from .cache import Cache


@asynccontextmanager
async def lifespan(app: FastAPI):
    cache = Cache()
    await cache.connect()
    try:
        yield {"cache": cache}
    finally:
        await cache.close()


app = FastAPI(title="rates", lifespan=lifespan)


@app.get("/rates/{currency}")
async def rates(currency: str):
    response = requests.get("https://rates.example.com/latest", params={"base": currency})
    response.raise_for_status()
    return response.json()


@app.get("/partner/{currency}")
async def partner_rates(currency: str):
    # The partner's own CA: this call keeps a client of its own.
    response = requests.get(
        "https://partner.example.com/rates", params={"base": currency}, verify="partner-ca.pem"
    )
    return response.json()


@app.post("/partner/orders")
async def partner_order(order: dict):
    # The partner's login sets a session cookie the order call must carry.
    with requests.Session() as session:
        session.post("https://partner.example.com/login", json={"key": "demo"})
        return session.post("https://partner.example.com/orders", json=order).json()
