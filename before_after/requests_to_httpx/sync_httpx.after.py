import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def quick(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(verify=_HTTPX_SSL_CONTEXT) as httpx_client:
        r = await httpx_client.get(url, params={"a": 1}, follow_redirects=True)
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, base_url=url, timeout=10
    ) as client:
        info = (await client.get("/info")).json()
        await client.post("/ping")
    return r.text, info
