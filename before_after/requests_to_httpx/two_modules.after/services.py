import httpx

# One SSL context for every httpx client of this module: building one costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

GEOCODER = "https://geo.example.com/v1"


async def geocode(address: str) -> dict:
    # A client per function call: no app in this module opens and closes a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        response = await client.get(
            f"{GEOCODER}/search", params={"q": address}, timeout=10
        )
    response.raise_for_status()
    return response.json()
