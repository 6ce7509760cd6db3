import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/external-data")
def fetch_external():
    # A sync route runs in FastAPI's threadpool: requests is fine here.
    response = requests.get("https://api.example.com/data")
    return response.json()


async def background(url: str):
    def work():
        return requests.get(url).json()

    return work
