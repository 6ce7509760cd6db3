import requests

GEOCODER = "https://geo.example.com/v1"


async def geocode(address: str) -> dict:
    response = requests.get(f"{GEOCODER}/search", params={"q": address}, timeout=10)
    response.raise_for_status()
    return response.json()
