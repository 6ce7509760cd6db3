import requests  # Sync library
from fastapi import FastAPI

app = FastAPI()


@app.get("/external-data")
async def fetch_external():
    # requests.get() is blocking!
    response = requests.get("https://api.example.com/data")
    return response.json()
