"""asyncfix: codemods that turn blocking Python web code into correct async code."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asyncfix")
except PackageNotFoundError:  # pragma: no cover - running from a checkout without installing
    __version__ = "0+unknown"
