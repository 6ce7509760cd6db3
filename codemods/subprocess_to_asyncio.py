"""subprocess_to_asyncio: ``subprocess.run/call/check_call/check_output``, ``os.system`` and
friends in a coroutine run in a thread with ``asyncio.to_thread``.

Why: these calls wait for the child process while holding the event loop, so nothing else runs
until the child exits (ruff / flake8-async ASYNC221,
https://docs.astral.sh/ruff/rules/run-process-in-async-function/).

Before -> after::

    async def build(path):                  async def build(path):
        r = subprocess.run(             ->      r = await asyncio.to_thread(
            ["make"], cwd=path,                     subprocess.run, ["make"], cwd=path,
            capture_output=True, text=True          capture_output=True, text=True
        )                                       )
        head = check_output(cmd)                head = await asyncio.to_thread(check_output, cmd)

The same function with the same arguments, called in a worker thread: the result, ``text=`` /
``encoding=`` decoding, ``input=``, ``check=True`` (``CalledProcessError``), ``timeout=``
(``TimeoutExpired``) and every other argument mean what they meant, by construction, and the
call stays one expression. The arguments are evaluated on the loop before the call, as
before. Every shape takes this form: ``subprocess.run/call/check_call/check_output/getoutput/
getstatusoutput``, ``os.system`` and ``os.spawn*(os.P_WAIT, ...)``, in any import style
(``check_output(...)`` stays ``check_output``).

Why not ``asyncio.create_subprocess_exec``: it takes a program and its arguments, not
``subprocess.run``'s, and returns a ``Process``, not a ``CompletedProcess``; reproducing
``text=``, ``check=``, ``timeout=``, ``input=`` and ``shell=`` on top of it took a 54-line
helper pasted into every module and turned a one-line call into several. For no shape is the
native form as short and as exact as the thread, so asyncfix emits it nowhere. (Modules that
hold a ``_run_subprocess`` helper from an earlier asyncfix are left as they are.)

Known differences: the call takes a thread of the default executor while the child runs (a
burst of many concurrent children queues behind its ``min(32, cpus + 4)`` workers), and
cancelling the coroutine does not stop the child: the thread waits it out.

Reported, not rewritten: ``subprocess.Popen`` and ``os.popen`` (ASYNC220: the process object
lives on; use ``asyncio.create_subprocess_exec`` and await its methods), ``os.spawn*`` in other
modes (ASYNC220), ``os.posix_spawn*`` (ASYNC221: returns at once; the wait is elsewhere), these
calls in a generator expression of a coroutine, and a coroutine where ``asyncio`` is bound to
something else (ASYNC221). Left alone: sync code.
"""

from __future__ import annotations

import libcst as cst

from .base import GENEXP, Codemod, is_dotted_name
from .emit import to_thread
from .gate_tables import REPORTED_CREATE, REPORTED_RUN, RUNS, SPAWN
from .gates import SubprocessToAsyncioGate

CREATE_CODE = "ASYNC220"
RUN_CODE = "ASYNC221"


class SubprocessToAsyncio(SubprocessToAsyncioGate, Codemod):
    DESCRIPTION = (
        "subprocess.run/call/check_*/os.system in async code -> await asyncio.to_thread(...)"
    )
    CODES = {
        RUN_CODE: (
            "subprocess.run/call/check_call/check_output/getoutput, os.system and\n"
            "os.spawn*(P_WAIT) in async code block the event loop until the child exits.\n"
            "asyncfix runs the same call with the same arguments in a thread:\n"
            "`await asyncio.to_thread(subprocess.run, args, ...)`. Reported: calls in a\n"
            "generator expression (await would make it an async generator: use a loop),\n"
            "os.posix_spawn (returns at once: await the wait, e.g. with\n"
            "`await asyncio.to_thread(os.waitpid, pid, 0)`), and coroutines where `asyncio`\n"
            "is bound to something else."
        ),
        CREATE_CODE: (
            "subprocess.Popen / os.popen / os.spawn*(P_NOWAIT) in async code start a process\n"
            "whose pipes and wait() block the event loop. Rewrite by hand with\n"
            "`proc = await asyncio.create_subprocess_exec(...)` and `await proc.communicate()`\n"
            "/ `await proc.wait()` / `await proc.stdout.readline()`."
        ),
    }

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if not is_dotted_name(func):
            return updated
        name = self.imported_name(func)
        if name is None:
            return updated
        spawn = bool(SPAWN.match(name))
        if not (name in RUNS or name in REPORTED_CREATE or name in REPORTED_RUN or spawn):
            return updated
        where = self.coroutine_of(original)
        if where is None or self.ignored(original):
            return updated
        label = cst.Module([]).code_for_node(func)
        if name in REPORTED_CREATE or (spawn and not self._spawn_waits(original)):
            self.report(
                original,
                CREATE_CODE,
                f"{label}() in a coroutine starts a process whose I/O and wait block the loop",
                "use `await asyncio.create_subprocess_exec(...)` and await its methods",
            )
            return updated
        if name in REPORTED_RUN:
            self.report(
                original,
                RUN_CODE,
                f"{label}() in a coroutine: the process is waited for elsewhere",
                "await the wait in a thread: await asyncio.to_thread(os.waitpid, pid, 0)",
            )
            return updated
        if where is GENEXP:
            self.report(
                original,
                RUN_CODE,
                f"{label}() in a generator expression inside a coroutine blocks the event loop",
                "turn the generator expression into a loop or list comprehension, then rerun",
            )
            return updated
        if not self.name_is_free(original, "asyncio", "asyncio"):
            self.report(
                original,
                RUN_CODE,
                f"{label}() in a coroutine blocks the event loop; the name `asyncio` is taken",
                "rename the local `asyncio`, then rerun",
            )
            return updated
        self.add_needed_import("asyncio")
        self.rewrote()
        return to_thread(cst.Arg(updated.func), *updated.args)

    def _spawn_waits(self, call: cst.Call) -> bool:
        if not call.args or not is_dotted_name(call.args[0].value):
            return False
        return self.imported_name(call.args[0].value) == "os.P_WAIT"
