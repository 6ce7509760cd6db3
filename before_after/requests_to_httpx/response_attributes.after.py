import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def status(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        r = await client.get(url)
    if r.is_error:
        return {"error": r.reason_phrase, "from": str(r.url)}
    if not r.is_error:
        print("fine")
    return {"ok": not r.is_error, "final": str(r.url), "data": r.json()}


async def handed_on(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        return await client.get(url)
