import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

API = "https://api.example.com"


async def search(q: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        return (await client.get(f"{API}/search", params={"q": q}, timeout=5)).json()


async def upload(text: str, blob: bytes, form: dict):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        await client.post(
            f"{API}/text", data=text.encode(), headers={"Content-Type": "text/plain"}
        )
        await client.post(f"{API}/raw", content="literal body")
        await client.put(f"{API}/blob", content=b"\x00\x01")
        await client.patch(f"{API}/form", data=form, follow_redirects=False)


async def probe(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        head = await client.head(url, follow_redirects=False)
        followed = await client.head(url, follow_redirects=True)
    return head.status_code, followed.status_code


async def remove(item_id: int):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        await client.request(
            "DELETE",
            f"{API}/items/{item_id}",
            json={"reason": "cleanup"},
            timeout=httpx.Timeout(27, connect=3.05),
        )
        return (await client.request("OPTIONS", f"{API}/items")).headers
