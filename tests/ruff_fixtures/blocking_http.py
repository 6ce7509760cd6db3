# asyncfix's own fixture for ruff's ASYNC210 / ASYNC212 (blocking HTTP clients).
import httpx
import requests


async def fetch(url):
    r = requests.get(url)
    requests.post(url, json={"a": 1})
    httpx.get(url)
    with httpx.Client() as client:
        client.get(url)
    return r.json()


def sync(url):
    return requests.get(url).json()
