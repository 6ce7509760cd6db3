"""The shapes of the blocking tables' entries, and the builders the family tables use."""

from __future__ import annotations

from typing import Dict, Iterable, Tuple

Entry = Tuple[str, str]  # (why, instead)
Table = Dict[str, Entry]


def each(names: Iterable[str], why: str, instead: str) -> Table:
    return {name: (why, instead) for name in names}


def members(classes: Iterable[str], methods: Iterable[str], why: str, instead: str) -> Table:
    methods = tuple(methods)
    return {f"{cls}.{method}": (why, instead) for cls in classes for method in methods}


def wide(classes: Iterable[str], why: str, instead: str) -> Table:
    """Class-wide (or module-wide) entries: ``cls.*``."""
    return {f"{cls}.*": (why, instead) for cls in classes}


def quiet(names: Iterable[str], reason: str) -> Dict[str, str]:
    return {name: reason for name in names}


def quiet_members(classes: Iterable[str], methods: Iterable[str], reason: str) -> Dict[str, str]:
    methods = tuple(methods)
    return {f"{cls}.{method}": reason for cls in classes for method in methods}


TO_THREAD = "await asyncio.to_thread(...) (or run_in_threadpool)"
