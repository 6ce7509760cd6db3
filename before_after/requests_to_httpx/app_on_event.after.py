import httpx
from fastapi import FastAPI

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

app = FastAPI()
cache = {}


@app.on_event("startup")
def warm_up():
    cache["ready"] = True


@app.get("/quote/{symbol}")
async def quote(symbol: str):
    # A client per call: asyncfix does not extend how this app starts and stops.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        return (await client.get(f"https://quotes.example.com/{symbol}")).json()
