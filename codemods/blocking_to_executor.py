"""blocking_to_executor: ``input()`` and ``os.wait*()`` in a coroutine run in a thread with
``asyncio.to_thread``.

Why: ``input()`` waits for a line on stdin and ``os.wait()/waitpid()/wait3()/wait4()/waitid()``
wait for a child to exit; in an ``async def`` either one stops the event loop until then
(ruff / flake8-async ASYNC250 and ASYNC222,
https://docs.astral.sh/ruff/rules/blocking-input-in-async-function/,
https://docs.astral.sh/ruff/rules/wait-for-process-in-async-function/).

Before -> after::

    async def ask():                        async def ask():
        name = input("name? ")      ->          name = await asyncio.to_thread(input, "name? ")
        pid, status = os.wait()                 pid, status = await asyncio.to_thread(os.wait)

``asyncio.to_thread``, like every thread offload asyncfix writes: the same function with the same
arguments (keywords and ``*args`` included), run in the default executor with the caller's
context variables. The arguments are evaluated on the loop, as before.

Not rewritten: sync code, a local ``input`` or ``os``. Reported instead (ASYNC250 / ASYNC222):
a call inside a generator expression of a coroutine, a coroutine where ``asyncio`` is bound to
something else.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameSource, ScopeProvider

from .base import GENEXP, Codemod, is_dotted_name
from .emit import to_thread
from .gate_tables import WAITS
from .gates import BlockingToExecutorGate

INPUT_CODE = "ASYNC250"
WAIT_CODE = "ASYNC222"


class BlockingToExecutor(BlockingToExecutorGate, Codemod):
    DESCRIPTION = "input() / os.wait*() in async code -> await asyncio.to_thread(...)"
    CODES = {
        INPUT_CODE: (
            "input() in async code blocks the event loop until a line arrives on stdin.\n"
            "asyncfix rewrites `input(prompt)` to `await asyncio.to_thread(input, prompt)`;\n"
            "it reports calls inside a generator expression and coroutines where `asyncio`\n"
            "names something else."
        ),
        WAIT_CODE: (
            "os.wait/waitpid/wait3/wait4/waitid in async code block the event loop until a\n"
            "child exits. asyncfix rewrites `os.waitpid(pid, 0)` to\n"
            "`await asyncio.to_thread(os.waitpid, pid, 0)`; it reports the same exceptions as\n"
            "for input(). For children started with asyncio.create_subprocess_*,\n"
            "`await proc.wait()` is the better fix."
        ),
    }

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def _target(self, func: cst.BaseExpression) -> str:
        """``input`` for the builtin, ``wait`` for os.wait*, else empty."""
        if isinstance(func, cst.Name) and func.value == "input":
            scope = self.get_metadata(ScopeProvider, func, None)
            names = scope.get_qualified_names_for(func) if scope is not None else set()
            if len(names) == 1:
                (name,) = names
                if name.name == "builtins.input" and name.source is QualifiedNameSource.BUILTIN:
                    return "input"
            return ""
        if is_dotted_name(func) and self.imported_name(func) in WAITS:
            return "wait"
        return ""

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        target = self._target(original.func)
        if not target or self.ignored(original):
            return updated
        where = self.coroutine_of(original)
        if where is None:
            return updated
        code = INPUT_CODE if target == "input" else WAIT_CODE
        label = cst.Module([]).code_for_node(original.func)
        if where is GENEXP:
            problem = "is inside a generator expression"
            hint = "turn the generator expression into a loop or list comprehension, then rerun"
        elif not self.name_is_free(original, "asyncio", "asyncio"):
            problem = "is where the name `asyncio` is bound to something else"
            hint = "rename the local `asyncio`, then rerun"
        else:
            self.add_needed_import("asyncio")
            self.rewrote()
            return to_thread(cst.Arg(updated.func), *updated.args)
        self.report(
            original,
            code,
            f"{label}() in a coroutine blocks the event loop, and this call {problem}",
            hint,
        )
        return updated
