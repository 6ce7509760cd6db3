"""cpu_to_executor: a CPU-bound call in a coroutine runs in an executor, off the event loop.

Why: a CPU-heavy call inside an ``async def`` holds the event loop for its whole duration, so
every other request, task and timer waits (https://docs.python.org/3/library/asyncio-dev.html
#running-blocking-code). An executor moves it to a worker; which worker matters: pure-Python
work holds the GIL, so only a process pool frees the loop, while C code that releases the GIL
(hashlib, bcrypt, argon2) runs fine in a thread.

Before -> after::

    async def compute():                    async def compute():
        return cpu_intensive_task()     ->      return await asyncio.get_running_loop().run_in_executor(
                                                    _cpu_bound_executor(), cpu_intensive_task
                                                )
    async def hash_(pw: str):               async def hash_(pw: str):
        return hashlib.scrypt(          ->      return await asyncio.to_thread(
            pw.encode(), salt=s, n=n)               hashlib.scrypt, pw.encode(), salt=s, n=n)

The thread case is ``await asyncio.to_thread(f, *args, **kwargs)``, the offload asyncfix writes
everywhere (it takes keyword arguments and carries the caller's context variables). The process
case is ``run_in_executor(_cpu_bound_executor(), f, *args)``, with
``functools.partial(f, a, key=c)`` for keyword arguments (``run_in_executor`` takes none);
``_cpu_bound_executor()`` is a module-level function, added once per module, that creates one
``ProcessPoolExecutor`` on first use; where the module makes the FastAPI app and nothing in the
project wires startup/shutdown, the app gets a ``lifespan`` that shuts the pool down
(:mod:`.emit`, :mod:`.cpu_shared`); when other modules of the app offload to a process pool
too, the app has one, ``process_pool()``, held by one of them (:mod:`.cpu_hosts`). Either way
the arguments are evaluated on the loop first. Parts: cpu_calls.py (what a call refers to, which
executor), cpu_pool.py (``multiprocessing.Pool``), cpu_cost.py / cpu_proof.py (the proof).

What is CPU-bound: a rewrite is made only on proof (see the README section "CPU-bound calls"):

1. the library calls in :data:`KNOWN_HEAVY` / :data:`KNOWN_HEAVY_METHODS` (password hashing);
2. project functions (module-level ``def``, any module of the project) whose cost the code
   itself fixes -- a loop or comprehension whose every level runs over a constant range, at
   least :data:`ITERATIONS` iterations in all, or a call of a function proven CPU-bound -- and
   that call nothing that may block: only computing builtins, pure standard-library modules
   (:data:`PURE_MODULES`), methods of values known to be builtin (literals, annotated
   parameters), the table, and project functions that are clean in the same way. Any I/O
   (``open``, a DB session, an I/O module, a project function doing it) rules a function out;
3. ``[tool.asyncfix] cpu-bound = ["pkg.module.func"]`` and ``# asyncfix: cpu-bound`` on a ``def``;
4. ``multiprocessing.Pool`` used directly in a coroutine (``with Pool() as p: p.apply(f)``):
   ``apply``/``map`` become awaited calls on the module's process pool and the ``with`` goes.

Also: ``asyncio.get_event_loop()`` in a coroutine becomes ``asyncio.get_running_loop()``.

Not rewritten: sync code (a sync FastAPI route already runs in a threadpool), calls in a nested
sync ``def``/``lambda``, methods (``self.crunch()``: no types), nested functions, functions that
do I/O. Reported instead: CPU001 a CPU-bound call in a generator expression or where a needed
name is rebound; CPU002 pure-Python CPU work sent to the thread pool because it cannot be shown
to be picklable; CPU003 a ``multiprocessing.Pool`` use this codemod cannot rewrite; CPU004 a
function that only looks heavy -- evidence that depends on the data (nested independent loops
over inputs of unknown size), or a constant cost beside a call that may block -- with the
evidence and the hint to declare it (never a rewrite: such a guess sent fastapi's own
``request_params_to_args`` to a thread pool, and a DB-query-and-plot helper to a process pool).
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from . import syntax
from .base import GENEXP, Codemod
from .callgraph import collect_module
from .cpu_calls import CpuCalls
from .cpu_cost import scan
from .cpu_facts import (
    CPU001,
    CPU002,
    CPU003,
    CPU004,
    EXECUTOR_CHOICES,
    THREAD,
)
from .cpu_pool import PoolRewrite
from .cpu_proof import CpuFacts, combine_facts
from .cpu_shared import SharedPool
from .emit import has_keywords, run_in_executor, to_thread
from .fact_gates import CpuToExecutorGate
from .resolve import module_names


class CpuToExecutor(CpuCalls, SharedPool, PoolRewrite, CpuToExecutorGate, Codemod):
    DESCRIPTION = "CPU-bound calls in async code -> a process pool, or asyncio.to_thread"
    CODES = {
        CPU001: (
            "A CPU-bound call in a coroutine that asyncfix left on the event loop: it holds the\n"
            "loop (every other request waits) for its whole duration. Cases:\n"
            "- inside a generator expression: `await` there makes an async generator. Use a list\n"
            "  comprehension or a loop, then rerun.\n"
            "- a name the rewrite needs (`asyncio`, `functools`, `_cpu_bound_executor`) is bound\n"
            "  to something else here: rename it, then rerun.\n"
            "By hand: `await asyncio.to_thread(f, *args)` for code that releases the GIL,\n"
            "`await asyncio.get_running_loop().run_in_executor(process_pool, f, *args)` else."
        ),
        CPU002: (
            "Pure-Python CPU work was moved to the default thread pool, not to a process pool:\n"
            "it still holds the GIL, so the event loop is freed only partly. A process pool\n"
            "needs a module-level function that uses no shared mutable state and arguments that\n"
            "pickle; asyncfix could not show that here (an argument it cannot type, a function\n"
            "that mutates its arguments or module state, a decorated or nested function).\n"
            "Annotate the route's parameters with plain types (int, str, list[int], ...) or pass\n"
            'plain values, or set `[tool.asyncfix] cpu-executor = "process"` if you know the\n'
            "call pickles."
        ),
        CPU003: (
            "multiprocessing.Pool used in a coroutine: creating, using and closing the pool all\n"
            "block the event loop. asyncfix rewrites `with Pool() as p:` whose body only calls\n"
            "`p.apply(f, args, kwds)` / `p.map(f, items)`, and `Pool().apply/map(...)`; it leaves\n"
            "apply_async/starmap/imap, pools with an initializer, and pools made elsewhere.\n"
            "By hand: one module-level concurrent.futures.ProcessPoolExecutor and\n"
            "`await loop.run_in_executor(pool, f, *args)`."
        ),
        CPU004: (
            "A call in a coroutine of a project function that looks CPU-heavy, left on the event\n"
            "loop because nothing proves it is CPU-bound. asyncfix moves a call to an executor\n"
            "only on proof: a known API (password hashing), your declaration, or a cost the code\n"
            "fixes itself (loops over constant ranges, 100,000+ iterations) in a function that\n"
            "calls nothing that may block. Reported instead:\n"
            "- nested loops over data of unknown size (`for a in xs: for b in ys`): heavy only if\n"
            "  the data is large, which nothing in the code says;\n"
            "- heavy work in a function that also calls something asyncfix cannot see into (a\n"
            "  library, a class, a method of an object of unknown type): it may do I/O (a\n"
            "  database query, plotting, a file), and I/O does not belong in a process pool.\n"
            "If the function is CPU-bound, mark its def `# asyncfix: cpu-bound` or list it in\n"
            '`[tool.asyncfix] cpu-bound = ["pkg.module.func"]`, then rerun; if it does I/O, the\n'
            "call wants `await asyncio.to_thread(f, ...)` (or an async version of the I/O)."
        ),
    }

    # -- per-file state ------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        facts = self.file.project.get(self.NAME)
        filename = self.file.filename
        root = self.file.project.root
        if not isinstance(facts, CpuFacts) or filename not in facts.local:
            tree = syntax.parse(self.file.source)
            source = self.file.source.encode()
            own = scan(tree, source, collect_module(tree, filename, source))
            if own is not None:
                local = combine_facts({filename: own}, root)
                facts = (
                    local
                    if not isinstance(facts, CpuFacts)
                    else CpuFacts(
                        {**local.functions, **facts.functions},
                        {**facts.local, **local.local},
                        {**local.instances, **facts.instances},
                        {**facts.local_instances, **local.local_instances},
                        facts.names | local.names,
                        facts.app_events or local.app_events,
                    )
                )
        self.facts: Optional[CpuFacts] = facts if isinstance(facts, CpuFacts) else None
        self.own_names = module_names(filename, root) if filename else []
        options = self.file.options
        self.executor_mode: str = options.get("cpu_executor", "auto")
        if self.executor_mode not in EXECUTOR_CHOICES:
            raise ValueError(f"[tool.asyncfix] cpu-executor must be one of {EXECUTOR_CHOICES}")
        self.configured: FrozenSet[str] = frozenset(options.get("cpu_bound", ()))
        self.awaited_ids: Set[int] = set()
        self.site_verdicts = None  # read on first need (CpuCalls._site)
        self.need_helper = False
        # id(With) -> (pool name, ids of its p.apply/p.map calls), for `with Pool() as p:` to unwrap
        self.pool_withs: Dict[int, Tuple[str, FrozenSet[int]]] = {}
        self.pool_calls: Set[int] = set()
        self.pool_rewritten: Set[int] = set()
        self.bindings: Dict[int, cst.BaseExpression] = {}  # id(Name target) -> bound value
        self.module_scope = self.get_metadata(ScopeProvider, node)
        self._plan_pool(self.module_scope)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Await(self, node: cst.Await) -> None:
        self.awaited_ids.add(id(node.expression))

    # -- building the new code -----------------------------------------------------------------

    def _offload(
        self, node: cst.CSTNode, func: cst.BaseExpression, args: List[cst.Arg], kind: str
    ) -> Optional[cst.Await]:
        """``await asyncio.to_thread(func, *args, **kwargs)`` for the thread pool;
        ``await asyncio.get_running_loop().run_in_executor(_cpu_bound_executor(), func, *args)``
        for the process pool, via ``functools.partial`` when there are keyword arguments. None
        when a name is taken."""
        if not self.name_is_free(node, "asyncio", "asyncio"):
            return None
        args = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in args]
        if kind == THREAD:
            self.add_needed_import("asyncio")
            return to_thread(cst.Arg(func), *args)
        keywords = has_keywords(args)
        if (keywords or not self.helper_exists) and not self.name_is_free(
            node, "functools", "functools"
        ):
            return None
        if not self.helper_exists and not self._pool_class_is_free():
            return None
        self.add_needed_import("asyncio")
        if keywords:
            self.add_needed_import("functools")
        return run_in_executor(self._executor_expr(kind), func, args)

    # -- the visitors --------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.ignored(original):
            return updated
        func = original.func
        # asyncio.get_event_loop() in a coroutine is the running loop: say so.
        if m.matches(func, m.Attribute(attr=m.Name("get_event_loop")) | m.Name("get_event_loop")):
            if (
                self.imported_name(func) == "asyncio.get_event_loop"
                and self.coroutine_of(original) is not None
            ):
                if isinstance(func, cst.Attribute):
                    self.rewrote()
                    return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("get_running_loop")))  # type: ignore
                if self.name_is_free(original, "asyncio", "asyncio"):
                    self.add_needed_import("asyncio")
                    self.drop_import_if_unused(func)
                    self.rewrote()
                    return updated.with_changes(
                        func=cst.parse_expression("asyncio.get_running_loop")
                    )
            return updated
        if id(original) in self.pool_calls:
            new = self._pool_rewrite(original, updated)
            if new is not None:
                self.pool_rewritten.add(id(original))
                self.rewrote()
                return new
            return updated
        if m.matches(func, m.Attribute(value=m.Call(), attr=m.Name())):
            return self._direct_pool(original, updated)
        if m.matches(
            func,
            m.Attribute(
                value=m.Name(),
                attr=m.Name("apply")
                | m.Name("map")
                | m.Name("apply_async")
                | m.Name("starmap")
                | m.Name("imap")
                | m.Name("imap_unordered")
                | m.Name("map_async"),
            ),
        ):
            self._report_pool_method(original)
        if id(original) in self.awaited_ids:
            return updated
        found = self._callee(func)
        if found is None:
            return updated
        callee, _ = found
        where = self.coroutine_of(original)
        if where is None:
            return updated
        if not callee.heavy:
            # Evidence that depends on data, or heavy work next to a call that may block: no
            # proof, so no rewrite; say what was seen.
            name = cst.helpers.get_full_name_for_node(func) or "this function"
            self.report(
                original,
                CPU004,
                f"`{name}` may be CPU-bound, but nothing proves it, so it stays on the event loop: {callee.evidence}",
                "if it is CPU-bound, mark its def `# asyncfix: cpu-bound` (or list it in `[tool.asyncfix] cpu-bound`)",
            )
            return updated
        if where is GENEXP:
            self.report(
                original,
                CPU001,
                "CPU-bound call in a generator expression inside a coroutine blocks the event loop",
                "turn the generator expression into a loop or list comprehension, then rerun",
            )
            return updated
        assert isinstance(where, cst.FunctionDef)
        kind, why = self._executor(original, callee)
        new = self._offload(original, updated.func, list(updated.args), kind)
        if new is None:
            self.report(
                original,
                CPU001,
                "CPU-bound call in a coroutine, but a name the rewrite needs is bound to something else",
                "rename the local `asyncio`/`functools`/`concurrent`, then rerun",
            )
            return updated
        if why:
            self.report(
                original,
                CPU002,
                f"pure-Python CPU work runs in the thread pool and still holds the GIL: {why}",
                "pass plain, annotated values to a module-level function, or see --explain CPU002",
            )
        self.rewrote()
        return new
