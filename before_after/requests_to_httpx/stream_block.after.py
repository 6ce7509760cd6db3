import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def download(url: str, path: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        async with client.stream("GET", url, timeout=30) as r:
            r.raise_for_status()
            with open(path, "wb") as f:
                async for chunk in r.aiter_bytes(8192):
                    f.write(chunk)
    return path
