import httpx

# One SSL context for every httpx client of this module: building one costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def status(url: str):
    # A client per function call: no app in this module opens and closes a shared one.
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
    # A client per function call: no app in this module opens and closes a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        return await client.get(url)
