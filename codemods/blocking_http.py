"""Blocking tables: the HTTP clients (requests, httpx, urllib3)."""

from __future__ import annotations

from .blocking_entries import Table, each, members, wide

# --------------------------------------------------------------------------------------------
# HTTP clients
# --------------------------------------------------------------------------------------------

_HTTP_WHY = "a synchronous HTTP request: the loop waits for the whole round trip"
REQUESTS: Table = {
    # Module-wide: requests.get/post/..., requests.api.*, Session methods, adapters. The pieces
    # that do no I/O are listed in NON_BLOCKING below.
    "requests.*": (_HTTP_WHY, "httpx.AsyncClient (await client.get(...))"),
    **wide(
        ("requests.Session", "requests.sessions.Session"),
        "Session methods send synchronous HTTP requests",
        "httpx.AsyncClient (await client.get(...))",
    ),
    # Streaming bodies (stream=True) are read from the socket as they are iterated.
    **members(
        ("requests.Response", "requests.models.Response"),
        ("iter_content", "iter_lines"),
        "reads a streamed response body from the socket",
        "httpx.AsyncClient.stream(...) with response.aiter_bytes()",
    ),
    **each(
        ("requests.adapters.HTTPAdapter.send",),
        _HTTP_WHY,
        "httpx.AsyncClient",
    ),
}

_HTTPX_INSTEAD = "httpx.AsyncClient (await client.get(...))"
HTTPX: Table = {
    # Module-level helpers make a throwaway sync Client (ASYNC210).
    **each(
        (
            "httpx." + verb
            for verb in (
                "get",
                "post",
                "put",
                "patch",
                "delete",
                "head",
                "options",
                "request",
                "stream",
            )
        ),
        "module-level httpx helpers use a synchronous Client",
        _HTTPX_INSTEAD,
    ),
    **each(
        (
            "httpx._api." + verb
            for verb in (
                "get",
                "post",
                "put",
                "patch",
                "delete",
                "head",
                "options",
                "request",
                "stream",
            )
        ),
        "module-level httpx helpers use a synchronous Client",
        _HTTPX_INSTEAD,
    ),
    # ASYNC212: every request method of the sync client (close included).
    **wide(("httpx.Client", "httpx._client.Client"), _HTTP_WHY, _HTTPX_INSTEAD),
    # Reading a streamed sync response.
    **members(
        ("httpx.Response", "httpx._models.Response"),
        ("read", "iter_bytes", "iter_text", "iter_lines", "iter_raw", "close"),
        "reads a streamed response body synchronously",
        "AsyncClient.stream(...) with await response.aread() / response.aiter_bytes()",
    ),
}

URLLIB3_CLASSES = (
    "urllib3.PoolManager",
    "urllib3.poolmanager.PoolManager",
    "urllib3.ProxyManager",
    "urllib3.poolmanager.ProxyManager",
    "urllib3.HTTPConnectionPool",
    "urllib3.connectionpool.HTTPConnectionPool",
    "urllib3.HTTPSConnectionPool",
    "urllib3.connectionpool.HTTPSConnectionPool",
)
URLLIB3: Table = {
    "urllib3.request": (_HTTP_WHY, "httpx.AsyncClient or aiohttp"),  # ASYNC210 (urllib3 2.x)
    **members(
        URLLIB3_CLASSES,
        ("request", "urlopen", "request_encode_url", "request_encode_body"),
        _HTTP_WHY,
        "httpx.AsyncClient or aiohttp",
    ),
    **members(
        (
            "urllib3.response.HTTPResponse",
            "urllib3.HTTPResponse",
            "urllib3.BaseHTTPResponse",
            "urllib3.response.BaseHTTPResponse",
        ),
        (
            "read",
            "read_chunked",
            "stream",
            "readinto",
            "readline",
            "readlines",
            "json",
            "drain_conn",
        ),
        "reads the response body from the socket (preload_content=False)",
        "httpx.AsyncClient with await response.aread()",
    ),
}
