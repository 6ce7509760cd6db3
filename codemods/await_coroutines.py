"""await_coroutines: calls to coroutine functions get ``await``; async propagates to callers.

Why: calling a coroutine function without ``await`` returns a coroutine object instead of its
result, and the coroutine never runs (FastAPI answers 500; mypy's ``unused-coroutine``,
"Are you missing an await?"). The same gap opens whenever another codemod makes a function
async: every caller must now await it, and a sync caller must become async in turn.

Before -> after (``fetch_user_async`` is an ``async def`` anywhere in the project)::

    async def get_user(user_id):              async def get_user(user_id):
        user = fetch_user_async(user_id)  ->      user = await fetch_user_async(user_id)

    def build_profile(user_id):               async def build_profile(user_id):
        return render(fetch(user_id))     ->      return render(await fetch(user_id))

The decisions are made project-wide in the first pass (``codemods/propagate.py``): call sites are
resolved across modules (imports, relative imports, aliases, ``self.m()``, ``obj.m()`` on a
local instance, module attributes), and async propagates up the call graph to a fixed point.
This codemod applies the result: it awaits the call sites, turns the ``def`` lines into
``async def``, and wraps module-level calls (including under ``if __name__ == "__main__":``) in
``asyncio.run(...)``.

Not rewritten, by design: a coroutine handed to ``create_task``/``gather``/``wait``/... or
``asyncio.run``; one stored in a name that is later awaited or handed on; one returned from a
sync function (a coroutine factory); async generator functions (iterated, not awaited); calls
that cannot be resolved. Reported instead: AWAIT001 when a sync caller cannot become async
(a dunder, a property, a generator, a decorated function, a callback passed to a sync API, an
override of a library class's method, ``# asyncfix: ignore`` on its ``def``), AWAIT002 when the
call sits where ``await`` is impossible (a generator expression, a nested comprehension, a
lambda, a class body, an expression at module level).
"""

from __future__ import annotations

from typing import Mapping

import libcst as cst
from libcst.metadata import PositionProvider

from .base import Codemod, awaited
from .gates import AwaitCoroutinesGate
from .program_facts import FileActions
from .propagate import CODE_BOUNDARY, CODE_NO_AWAIT_HERE, CODE_STORED


class AwaitCoroutines(AwaitCoroutinesGate, Codemod):
    DESCRIPTION = "await calls to coroutine functions; make their sync callers async, project-wide"
    CODES: Mapping[str, str] = {
        CODE_BOUNDARY: (
            "A sync function calls a coroutine function without awaiting it, so the coroutine\n"
            "never runs, and asyncfix cannot make the caller `async def` because something\n"
            "calls it synchronously: Python itself (a dunder method), attribute access (a\n"
            "property), a decorator, iteration (a generator), a library it is passed to as a\n"
            "callback, or a library base class whose method it overrides.\n"
            "Fix by hand: make the caller's callers async too, or run the coroutine to\n"
            "completion where a loop is available (`asyncio.run(...)` outside any loop,\n"
            "`asyncio.run_coroutine_threadsafe(...)` from a thread), or keep a sync version."
        ),
        CODE_NO_AWAIT_HERE: (
            "A coroutine function is called where `await` cannot be added: in a generator\n"
            "expression (`await` would make it an async generator, which sum()/list()/any()\n"
            "cannot consume), in a comprehension nested in another (an error before Python\n"
            "3.11), in a lambda or a class body, or inside an expression at module level.\n"
            "Fix by hand: move the call into a coroutine, use a loop or a single list\n"
            "comprehension, or collect the coroutines and `await asyncio.gather(*coros)`."
        ),
        CODE_STORED: (
            "A coroutine is kept in a name that is passed on to other code (`coros.append(c)`),\n"
            "or passed straight into a call that is awaited (`await wrapper(f())`): the\n"
            "receiver may await it itself, so asyncfix does not guess.\n"
            "Fix by hand: `await` it where its result is needed, or leave it if the receiver\n"
            "takes the coroutine (gather, a run-to-completion wrapper, a task group)."
        ),
    }

    def visit_Module(self, node: cst.Module) -> None:
        self.actions: FileActions = self.file.project.actions[self.file.filename]
        self._report(self.file)

    def _span(self, node: cst.CSTNode):
        position = self.get_metadata(PositionProvider, node)
        return (position.start.line, position.start.column, position.end.line, position.end.column)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (self.actions.await_spans or self.actions.run_spans):
            return updated
        span = self._span(original.func)
        if span in self.actions.await_spans:
            self.rewrote()
            return awaited(updated)
        if span in self.actions.run_spans:
            self.add_needed_import("asyncio")
            self.rewrote()
            return cst.Call(
                func=cst.Attribute(cst.Name("asyncio"), cst.Name("run")),
                args=[cst.Arg(updated)],
            )
        return updated

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original.asynchronous is not None or not self.actions.make_async:
            return updated
        line = self.get_metadata(PositionProvider, original).start.line
        if (line, original.name.value) in self.actions.make_async:
            self.rewrote()
            return updated.with_changes(asynchronous=cst.Asynchronous())
        return updated
