"""Library coroutine functions and the coroutine methods of library classes: calling one
without ``await`` in async code is the same mistake as forgetting a project coroutine."""

from __future__ import annotations

from typing import FrozenSet, Mapping

# Library coroutine functions: calling one without `await` in async code is the same mistake.
LIBRARY_COROUTINES = frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait_for",
        "asyncio.wait",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.to_thread",
    }
)
# Coroutine methods of library classes, on a name known to hold an instance (assigned from the
# constructor, bound by `async with Class(...) as name`, or a parameter annotated with the class).
_HTTPX_ASYNC = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "aclose"}
)
ASYNC_SESSION_METHODS = frozenset(
    {
        "execute",
        "scalars",
        "scalar",
        "get",
        "get_one",
        "stream",
        "stream_scalars",
        "refresh",
        "delete",
        "merge",
        "flush",
        "commit",
        "rollback",
        "close",
        "reset",
        "invalidate",
        "connection",
        "run_sync",
    }
)
LIBRARY_COROUTINE_METHODS: Mapping[str, FrozenSet[str]] = {
    "httpx.AsyncClient": _HTTPX_ASYNC,
    "sqlalchemy.ext.asyncio.AsyncSession": ASYNC_SESSION_METHODS,
    "sqlalchemy.ext.asyncio.session.AsyncSession": ASYNC_SESSION_METHODS,
    "sqlmodel.ext.asyncio.session.AsyncSession": ASYNC_SESSION_METHODS | {"exec"},
}


# Library decorators that wrap a coroutine function as a coroutine function, so a function keeps
# them when it becomes async: tenacity's ``retry`` runs a coroutine function under AsyncRetrying
# (asyncio.sleep between attempts); backoff's decorators do the same for coroutines.
ASYNC_AWARE_DECORATORS = frozenset(
    {"tenacity.retry", "backoff.on_exception", "backoff.on_predicate"}
)
