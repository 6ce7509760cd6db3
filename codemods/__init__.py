"""The codemods. ``REGISTRY`` and ``BY_NAME`` (registry.py) are imported on first use: they
import every codemod and libcst, which a run whose results come from the cache never needs."""

from __future__ import annotations

from typing import Any

# The codemods' names in registry order, for what needs only names (the CLI's --select and
# --ignore, the cache key); tests/test_cache.py checks it against REGISTRY.
NAMES = (
    "await_coroutines",
    "dependency_close",
    "sqlalchemy_to_async",
    "sleep_to_asyncio",
    "requests_to_httpx",
    "file_io_to_thread",
    "subprocess_to_asyncio",
    "blocking_to_executor",
    "cpu_to_executor",
    "demote_to_def",
    "offload_to_thread",
)


def __getattr__(name: str) -> Any:
    if name in ("REGISTRY", "BY_NAME"):
        from . import registry

        globals().update(REGISTRY=registry.REGISTRY, BY_NAME=registry.BY_NAME)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
