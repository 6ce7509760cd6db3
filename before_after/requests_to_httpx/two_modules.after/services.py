import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

GEOCODER = "https://geo.example.com/v1"


async def geocode(address: str) -> dict:
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        response = await client.get(
            f"{GEOCODER}/search", params={"q": address}, timeout=10
        )
    response.raise_for_status()
    return response.json()
