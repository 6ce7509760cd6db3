import requests
from fastapi import FastAPI

from notify import notify

app = FastAPI(title="shop")

STOCK = "https://stock.example.com"


@app.post("/orders/{sku}")
async def order(sku: str):
    stock = requests.get(f"{STOCK}/items/{sku}").json()
    await notify(f"order for {sku}")
    return {"sku": sku, "left": stock["left"] - 1}
