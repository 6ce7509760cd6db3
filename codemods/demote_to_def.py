"""demote_to_def: an async route or dependency that never awaits, and blocks through project code,
becomes a plain ``def`` (issue 16).

Why: FastAPI runs an ``async def`` path operation or dependency on the event loop, and a ``def``
one in its threadpool. A coroutine that awaits nothing gains nothing from the loop, and when it
calls sync project code that blocks (a service over a sync SQLAlchemy ``Session``, a helper that
calls ``requests``, a ``@contextmanager`` reading a file) it stalls every other request. Turning
exactly those routes into ``def`` is what maintainers do by hand; it changes no other line.

Before -> after (``TaskService.list`` runs ``Session.execute`` on a sync session)::

    @router.get("/tasks")                        @router.get("/tasks")
    async def read_tasks(svc: SvcDep):     ->    def read_tasks(svc: SvcDep):
        return svc.list()                            return svc.list()

The decision is the whole program's (``codemods/blocking.py``): only a path operation (``@app.get``
and friends) or a dependency (``Depends(f)``), with no ``await``/``async for``/``async with``, no
``asyncio``/``anyio`` object, not a websocket, middleware, lifespan or exception handler, and not
called or referenced by other project code (tests calling ``await read_tasks()`` keep it async).
Anything else that blocks is offloaded (``offload_to_thread``) or reported (``BLOCK001``).
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from .base import Codemod
from .blocking import BlockingPlan
from .gates import DemoteToDefGate


class _Awaits(cst.CSTVisitor):
    """Whether a function's own body (not nested defs) awaits, after the codemods before this
    one (a family may just have added an ``await`` there)."""

    def __init__(self) -> None:
        self.found = False

    def visit_Await(self, node: cst.Await) -> bool:
        self.found = True
        return False

    def visit_For(self, node: cst.For) -> bool:
        self.found |= node.asynchronous is not None
        return True

    def visit_With(self, node: cst.With) -> bool:
        self.found |= node.asynchronous is not None
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class DemoteToDef(DemoteToDefGate, Codemod):
    DESCRIPTION = "async routes/dependencies that never await but block through project code -> def"

    def visit_Module(self, node: cst.Module) -> None:
        plan: BlockingPlan = self.file.project.blocking
        self.demote = plan.demote.get(self.file.filename, frozenset())

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original.asynchronous is None or self.ignored(original):
            return updated
        line = self.original_line(self.get_metadata(PositionProvider, original).start.line)
        if (line, original.name.value) not in self.demote:
            return updated
        awaits = _Awaits()
        updated.body.visit(awaits)
        if awaits.found:  # another family made it await in this run: the next round offloads
            return updated
        self.rewrote()
        return updated.with_changes(asynchronous=None)
