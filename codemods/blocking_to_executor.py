"""blocking_to_executor: ``input()`` and ``os.wait*()`` in a coroutine run in the default
executor.

Why: ``input()`` waits for a line on stdin and ``os.wait()/waitpid()/wait3()/wait4()/waitid()``
wait for a child to exit; in an ``async def`` either one stops the event loop until then
(ruff / flake8-async ASYNC250 and ASYNC222,
https://docs.astral.sh/ruff/rules/blocking-input-in-async-function/,
https://docs.astral.sh/ruff/rules/wait-for-process-in-async-function/).

Before -> after::

    async def ask():                        async def ask():
        name = input("name? ")      ->          name = await asyncio.get_running_loop().run_in_executor(
        pid, status = os.wait()                     None, input, "name? "
                                                )
                                                pid, status = await asyncio.get_running_loop().run_in_executor(
                                                    None, os.wait
                                                )

``run_in_executor`` (table 4 of the rewrite tables) rather than ``asyncio.to_thread``: these
calls take positional arguments only, so they need no ``functools.partial``, and they do not
read context variables. The arguments are evaluated on the loop, as before.

Not rewritten: sync code, a local ``input`` or ``os``. Reported instead (ASYNC250 / ASYNC222):
a call with keyword or ``*`` arguments (``run_in_executor`` passes positional arguments only),
a call inside a generator expression of a coroutine, a coroutine where ``asyncio`` is bound to
something else.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameSource, ScopeProvider

from .base import Codemod, GENEXP, awaited, is_dotted_name

INPUT_CODE = "ASYNC250"
WAIT_CODE = "ASYNC222"
WAITS = frozenset({"os.wait", "os.waitpid", "os.wait3", "os.wait4", "os.waitid"})


class BlockingToExecutor(Codemod):
    NAME = "blocking_to_executor"
    DESCRIPTION = (
        "input() / os.wait*() in async code -> await loop.run_in_executor(None, ...)"
    )
    NEEDS = (b"input", b"wait")
    LOCAL = True
    ASYNC_TARGETS = frozenset({"input"}) | WAITS  # the builtin or any import style
    CODES = {
        INPUT_CODE: (
            "input() in async code blocks the event loop until a line arrives on stdin.\n"
            "asyncfix rewrites `input(prompt)` to\n"
            "`await asyncio.get_running_loop().run_in_executor(None, input, prompt)`; it\n"
            "reports calls with keyword or * arguments, calls inside a generator expression\n"
            "and coroutines where `asyncio` names something else."
        ),
        WAIT_CODE: (
            "os.wait/waitpid/wait3/wait4/waitid in async code block the event loop until a\n"
            "child exits. asyncfix rewrites them to\n"
            "`await asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)`;\n"
            "it reports the same exceptions as for input(). For children started with\n"
            "asyncio.create_subprocess_*, `await proc.wait()` is the better fix."
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
        if any(arg.keyword is not None or arg.star for arg in original.args):
            problem = "has keyword or * arguments, which run_in_executor cannot pass"
            hint = "pass the arguments positionally (or use functools.partial), then rerun"
        elif where is GENEXP:
            problem = "is inside a generator expression"
            hint = "turn the generator expression into a loop or list comprehension, then rerun"
        elif not self.name_is_free(original, "asyncio", "asyncio"):
            problem = "is where the name `asyncio` is bound to something else"
            hint = "rename the local `asyncio`, then rerun"
        else:
            self.add_needed_import("asyncio")
            self.rewrote()
            loop = cst.Call(cst.Attribute(cst.Name("asyncio"), cst.Name("get_running_loop")))
            args = [
                cst.Arg(cst.Name("None")),
                cst.Arg(updated.func),
                *(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in updated.args),
            ]
            return awaited(cst.Call(cst.Attribute(loop, cst.Name("run_in_executor")), args))
        self.report(
            original,
            code,
            f"{label}() in a coroutine blocks the event loop, and this call {problem}",
            hint,
        )
        return updated
