"""Chat notifications, sent by the public site and by the back office."""

import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

WEBHOOK = "https://chat.example.com/hooks/orders"


async def notify(text: str) -> None:
    # A client per call: two apps import this module; neither closes a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        await client.post(WEBHOOK, json={"text": text}, timeout=5)
