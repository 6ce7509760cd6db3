"""No app in this module: a client per function call, shared by its calls and loops."""

import ssl

import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

INTERNAL_CA = "/etc/ssl/internal.pem"


async def crawl(urls: list, session_id: str):
    """One client for the whole function: not one per loop iteration."""
    pages = []
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client, httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=INTERNAL_CA),
        cookies={"session": session_id},
        follow_redirects=True,
        timeout=None,
    ) as internal_ca_client:
        for url in urls:
            pages.append((await client.get(url)).text)
        summary = await internal_ca_client.post(
            "https://internal.example.com/summary", json={"count": len(pages)}
        )
    return pages, summary.status_code
