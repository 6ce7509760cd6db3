"""The project-wide facts gathered before any file is rewritten.

The engine builds one :class:`ProjectIndex` from every file of the run (a fast ``ast`` pass, not
libcst) and hands the same read-only value to the per-file transforms, in this process or in
worker processes; it is a plain, picklable data structure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProjectIndex:
    """Facts about the whole project. Empty until a codemod needs cross-file knowledge."""

    root: str = "."
