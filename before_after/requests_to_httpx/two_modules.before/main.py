import requests
from fastapi import FastAPI

from services import geocode

app = FastAPI(title="stores")

INVENTORY = "https://inventory.example.com"


@app.get("/stores/near")
async def stores_near(address: str):
    place = await geocode(address)
    stock = requests.get(f"{INVENTORY}/stores", params={"lat": place["lat"], "lon": place["lon"]})
    return stock.json()
