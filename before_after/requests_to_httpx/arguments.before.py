import requests

API = "https://api.example.com"


async def search(q: str):
    return requests.get(f"{API}/search", {"q": q}, timeout=5).json()


async def upload(text: str, blob: bytes, form: dict):
    requests.post(f"{API}/text", data=text.encode(), headers={"Content-Type": "text/plain"})
    requests.post(f"{API}/raw", data="literal body")
    requests.put(f"{API}/blob", data=b"\x00\x01")
    requests.patch(f"{API}/form", data=form, allow_redirects=False)


async def probe(url: str):
    head = requests.head(url)
    followed = requests.head(url, allow_redirects=True)
    return head.status_code, followed.status_code


async def remove(item_id: int):
    requests.delete(f"{API}/items/{item_id}", json={"reason": "cleanup"}, timeout=(3.05, 27))
    return requests.request("OPTIONS", f"{API}/items").headers
