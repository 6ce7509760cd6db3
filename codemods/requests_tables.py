"""Tables of ``requests_to_httpx``: the argument tables of requests' and httpx's functions, the
exception map, the codes. No libcst (the first pass reads them); the libcst pieces its modules
share are in requests_nodes.py."""

from __future__ import annotations

from typing import Dict, Tuple

BLOCKING = "ASYNC210"
SYNC_CLIENT = "ASYNC212"
HANDED_ON = "HTTPX001"
NOT_MIGRATED = "HTTPX002"  # --migrate: a requests helper left sync (native.py)

METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
BODYLESS = {"get", "head", "options", "delete"}
# Positional parameters of requests' functions (api module) and Session methods.
API_POSITIONAL = {
    "get": ("url", "params"),
    "post": ("url", "data", "json"),
    "put": ("url", "data"),
    "patch": ("url", "data"),
    "delete": ("url",),
    "head": ("url",),
    "options": ("url",),
    "request": ("method", "url"),
}
SESSION_POSITIONAL = {**API_POSITIONAL, "get": ("url",)}
HTTPX_POSITIONAL = {name: ("url",) for name in METHODS if name != "request"}
HTTPX_POSITIONAL["request"] = ("method", "url")
# Per-request keywords both libraries take as is.
SAME = {"params", "headers", "json", "files", "auth", "timeout"}
REQUESTS_CLIENT_ONLY = ("verify", "cert", "cookies")
HTTPX_CLIENT_ONLY = ("verify", "cert", "cookies", "proxy", "trust_env")
HTTPX_PER_REQUEST = {
    "params",
    "headers",
    "auth",
    "follow_redirects",
    "timeout",
    "content",
    "data",
    "files",
    "json",
    "extensions",
}
SESSION_CONSTRUCTORS = {"requests.Session", "requests.session", "requests.sessions.Session"}
HTTPX_SYNC_CLIENT = {"httpx.Client"}
AWAITED_CLIENT_METHODS = set(METHODS) | {"send"}

EXCEPTIONS: Dict[str, Tuple[str, ...]] = {
    "RequestException": ("httpx.HTTPError", "httpx.InvalidURL"),
    "HTTPError": ("httpx.HTTPStatusError",),
    "ConnectionError": (
        "httpx.NetworkError",
        "httpx.ConnectTimeout",
        "httpx.RemoteProtocolError",
        "httpx.ProxyError",
    ),
    "Timeout": ("httpx.TimeoutException",),
    "ConnectTimeout": ("httpx.ConnectTimeout",),
    "ReadTimeout": ("httpx.ReadTimeout",),
    "TooManyRedirects": ("httpx.TooManyRedirects",),
    "InvalidURL": ("httpx.InvalidURL", "httpx.UnsupportedProtocol"),
    "MissingSchema": ("httpx.UnsupportedProtocol",),
    "InvalidSchema": ("httpx.UnsupportedProtocol",),
    "JSONDecodeError": ("json.JSONDecodeError",),
}

SSL_NAME = "_HTTPX_SSL_CONTEXT"
# (Emitted comments fit black's and ruff's default 88 columns where they stand.)
SSL_COMMENT = "# One SSL context for this module's httpx clients: each costs tens of ms of CPU."
