"""asyncfix: codemods that turn blocking Python web code into correct async code."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``, looked up on first use: importlib.metadata costs a run that does not
    print it (a re-run from the cache) a good part of its time."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("asyncfix")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without installing
        found = "0+unknown"
    globals()["__version__"] = found
    return found
