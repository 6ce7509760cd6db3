import requests


async def status(url: str):
    r = requests.get(url)
    if not r.ok:
        return {"error": r.reason, "from": r.url}
    if r:
        print("fine")
    return {"ok": r.ok, "final": str(r.url), "data": r.json()}


async def handed_on(url: str):
    return requests.get(url)
