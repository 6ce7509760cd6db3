import httpx

# One SSL context for every httpx client of this module: building one costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def quick(url: str):
    # A client per function call: no app in this module opens and closes a shared one.
    async with httpx.AsyncClient(verify=_HTTPX_SSL_CONTEXT) as httpx_client:
        r = await httpx_client.get(url, params={"a": 1}, follow_redirects=True)
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, base_url=url, timeout=10
    ) as client:
        info = (await client.get("/info")).json()
        await client.post("/ping")
    return r.text, info
