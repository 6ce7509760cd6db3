"""sleep_to_asyncio: ``time.sleep(x)`` in a coroutine becomes ``await asyncio.sleep(x)``.

Why: ``time.sleep`` inside an ``async def`` blocks the event loop, so every other request waits
for it (ruff/flake8-async ASYNC251, https://docs.astral.sh/ruff/rules/blocking-sleep-in-async-function/).

Before -> after::

    async def wait():                       async def wait():
        time.sleep(5)                   ->      await asyncio.sleep(5)

Any import style (``import time as t``, ``from time import sleep as snooze``); ``asyncio`` is
imported when needed and the ``time`` import is dropped when nothing else uses it.

Not rewritten: sleeps in a sync ``def`` (FastAPI runs those in a threadpool, which is correct),
in a sync ``def``/``lambda``/class body nested in a coroutine, ``self.time.sleep``, a local
``time`` that is not the module. Reported instead (ASYNC251): ``time.sleep`` used as a value
(``retry(sleep=time.sleep)``) or inside a generator expression of a coroutine, where ``await``
would turn the generator into an async generator.
"""

from __future__ import annotations

import re
from typing import Set

import libcst as cst

from .base import GENEXP, Codemod, awaited
from .gates import SleepToAsyncioGate

CODE = "ASYNC251"


class SleepToAsyncio(SleepToAsyncioGate, Codemod):
    DESCRIPTION = "time.sleep(x) in async code -> await asyncio.sleep(x)"
    CODES = {
        CODE: (
            "time.sleep() in async code blocks the event loop: no other request, task or timer\n"
            "runs until it returns. asyncfix rewrites the plain call to `await asyncio.sleep(x)`;\n"
            "it reports the cases it cannot rewrite safely:\n"
            "- time.sleep passed as a value (`retry(sleep=time.sleep)`): whoever calls it\n"
            "  blocks. Pass an async sleep if the receiver awaits it; keep time.sleep if the\n"
            "  receiver runs in a thread.\n"
            "- inside a generator expression: `await` there makes an async generator, which\n"
            "  sum()/list()/any() cannot consume. Use a list comprehension or a loop.\n"
            "- `asyncio` is bound to something else in that scope: rename it, then rerun."
        )
    }

    def visit_Module(self, node: cst.Module) -> None:
        # Cheap superset of the bare names that may be `time.sleep` (`from time import sleep as
        # snooze`); the scope decides for each candidate.
        self._bare_names: Set[str] = {"sleep"} | set(
            re.findall(r"\bsleep\s+as\s+(\w+)", self.file.source)
        )
        self._calls: Set[int] = set()

    def _is_time_sleep(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Attribute):
            if node.attr.value != "sleep" or not isinstance(node.value, cst.Name):
                return False
        elif not (isinstance(node, cst.Name) and node.value in self._bare_names):
            return False
        return self.imported_name(node) == "time.sleep"

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # the names an import binds are not uses

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self._calls.add(id(node.func))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self._is_time_sleep(original.func) or self.ignored(original):
            return updated
        where = self.coroutine_of(original)
        if where is None:
            return updated
        if where is GENEXP:
            self.report(
                original,
                CODE,
                "time.sleep in a generator expression inside a coroutine blocks the event loop",
                "turn the generator expression into a loop or list comprehension, then rerun",
            )
            return updated
        if not self.name_is_free(original, "asyncio", "asyncio"):
            self.report(
                original,
                CODE,
                "time.sleep in a coroutine, but the name `asyncio` is bound to something else here",
                "rename the local `asyncio`, then rerun",
            )
            return updated
        self.add_needed_import("asyncio")
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return awaited(
            updated.with_changes(func=cst.Attribute(cst.Name("asyncio"), cst.Name("sleep")))
        )

    def _reference(self, node: cst.BaseExpression) -> None:
        if id(node) in self._calls or not self._is_time_sleep(node):
            return
        if self.coroutine_of(node) is not None:
            self.report(
                node,
                CODE,
                "time.sleep passed as a value in a coroutine: whoever calls it blocks the loop",
                "pass an async sleep if the receiver awaits it; keep it if it runs in a thread",
            )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._reference(node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self._bare_names:
            self._reference(node)
