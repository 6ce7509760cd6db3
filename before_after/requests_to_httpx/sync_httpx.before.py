import httpx


async def quick(url: str):
    r = httpx.get(url, params={"a": 1}, follow_redirects=True)
    with httpx.Client(base_url=url, timeout=10) as client:
        info = client.get("/info").json()
        client.post("/ping")
    return r.text, info
