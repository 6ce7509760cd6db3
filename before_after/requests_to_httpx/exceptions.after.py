import json

import httpx
import requests

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def fetch(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        try:
            r = await client.get(url, timeout=10)
            r.raise_for_status()
        except httpx.HTTPStatusError as error:
            return {"status": error.response.status_code}
        except (
            httpx.NetworkError,
            httpx.ConnectTimeout,
            httpx.RemoteProtocolError,
            httpx.ProxyError,
            httpx.TimeoutException,
        ):
            return {"status": None}
    return r.json()


async def parse(url: str):
    # A client per call: no app in this module to open and close a shared one.
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as client:
        try:
            return (await client.get(url)).json()
        except (httpx.HTTPError, httpx.InvalidURL, json.JSONDecodeError):
            return None


def still_sync(url: str):
    try:
        return requests.get(url).json()
    except requests.RequestException:
        return None
