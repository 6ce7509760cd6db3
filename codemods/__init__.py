"""The registry: every codemod, in the order the engine runs them on a file.

Order matters where one codemod's output is another's input; constraints are noted at the entry
that has them. A test checks that every codemod module in this folder is registered here.
"""

from __future__ import annotations

from typing import Dict, Tuple, Type

from .base import Codemod
from .sleep_to_asyncio import SleepToAsyncio

REGISTRY: Tuple[Type[Codemod], ...] = (
    SleepToAsyncio,
)

BY_NAME: Dict[str, Type[Codemod]] = {codemod.NAME: codemod for codemod in REGISTRY}

# Modules of this package that are machinery, not codemods.
INFRASTRUCTURE = frozenset({"base", "engine", "project", "files", "config", "formatting"})
