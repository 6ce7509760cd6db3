import requests
from fastapi import FastAPI

app = FastAPI()
cache = {}


@app.on_event("startup")
def warm_up():
    cache["ready"] = True


@app.get("/quote/{symbol}")
async def quote(symbol: str):
    return requests.get(f"https://quotes.example.com/{symbol}").json()
