"""The ``multiprocessing.Pool`` rewrite of cpu_to_executor, and the process pool it emits.

``with Pool() as p: p.apply(f, args)`` / ``p.map(f, xs)`` in a coroutine become awaited calls
on the process pool and the ``with`` goes; ``Pool().apply/map(...)`` likewise. Other uses are
reported (CPU003). A mixin of :class:`~.cpu_to_executor.CpuToExecutor`: it shares the
codemod's per-file state and offload helpers.
"""

from __future__ import annotations

import textwrap
from typing import Any, Dict, List, Optional, Tuple

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .app_tokens import APP_EVENT_TOKENS
from .cpu_facts import CPU003, HELPER
from .emit import (
    LIFESPAN,
    PROCESS,
    THREAD,
    LifespanSite,
    close_with_app,
    insert_helper,
    lifespan_site,
    to_thread,
)


class PoolRewrite:
    """``multiprocessing.Pool`` in coroutines -> the process pool (see the module docstring)."""

    def visit_With(self, node: cst.With) -> None:
        """Mark ``with Pool() as p:`` blocks whose body only calls ``p.apply``/``p.map``."""
        if len(node.items) != 1 or node.asynchronous is not None:
            return
        item = node.items[0]
        if not (
            isinstance(item.item, cst.Call)
            and self._is_pool(item.item)
            and self._pool_args_ok(item.item)
        ):
            return
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            return
        where = self.coroutine_of(node)
        if not isinstance(where, cst.FunctionDef):
            return
        name = item.asname.name.value
        uses = m.findall(node.body, m.Name(name))
        calls = [
            call
            for call in m.findall(
                node.body,
                m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("apply") | m.Name("map"))),
            )
            if self.coroutine_of(call) is where and self._pool_call_args(call) is not None
        ]
        scope = self.get_metadata(ScopeProvider, item.asname.name, None)
        if scope is None or len(list(scope[name])) != 1:
            return
        everywhere = [access for access in scope.accesses[name]]
        if not calls or len(calls) != len(uses) or len(everywhere) != len(uses):
            return
        self.pool_withs[id(node)] = (name, frozenset(id(call) for call in calls))
        self.pool_calls.update(id(call) for call in calls)

    def _is_pool(self, call: cst.Call) -> bool:
        return self.imported_name(call.func) in (
            "multiprocessing.Pool",
            "multiprocessing.pool.Pool",
        )

    @staticmethod
    def _pool_args_ok(call: cst.Call) -> bool:
        """``Pool()``, ``Pool(4)``, ``Pool(processes=4)``: nothing else the executor would lose."""
        return (
            all(
                (arg.keyword is None or arg.keyword.value == "processes")
                and not arg.star
                and isinstance(arg.value, (cst.Integer, cst.Name))
                for arg in call.args
            )
            and len(call.args) <= 1
        )

    @staticmethod
    def _pool_call_args(call: cst.Call) -> Optional[Tuple[str, cst.BaseExpression, List[cst.Arg]]]:
        """(method, function, arguments of the executor call) for ``p.apply``/``p.map``."""
        method = call.func.attr.value  # type: ignore[union-attr]
        names = ("func", "args", "kwds") if method == "apply" else ("func", "iterable", "chunksize")
        bound: Dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            if arg.star:
                return None
            key = (
                arg.keyword.value
                if arg.keyword is not None
                else (names[index] if index < 3 else "")
            )
            if key not in names or key in bound:
                return None
            bound[key] = arg.value
        func = bound.get("func")
        if func is None or not m.matches(func, m.Name() | m.Attribute()):
            return None
        if method == "map":
            if "iterable" not in bound:
                return None
            extra = [cst.Arg(bound["iterable"])]
            if "chunksize" in bound:
                extra.append(cst.Arg(bound["chunksize"], keyword=cst.Name("chunksize")))
            return method, func, extra
        args: List[cst.Arg] = []
        given = bound.get("args")
        if isinstance(given, (cst.Tuple, cst.List)):
            for element in given.elements:
                star = "*" if isinstance(element, cst.StarredElement) else ""
                args.append(cst.Arg(element.value, star=star))
        elif given is not None:
            args.append(cst.Arg(given, star="*"))
        kwds = bound.get("kwds")
        if isinstance(kwds, cst.Dict) and all(
            isinstance(e, cst.DictElement)
            and isinstance(e.key, cst.SimpleString)
            and e.key.evaluated_value.isidentifier()  # type: ignore[union-attr]
            for e in kwds.elements
        ):
            for element in kwds.elements:
                args.append(cst.Arg(element.value, keyword=cst.Name(element.key.evaluated_value)))  # type: ignore
        elif kwds is not None:
            args.append(cst.Arg(kwds, star="**"))
        return method, func, args

    def _pool_rewrite(self, original: cst.Call, updated: cst.Call) -> Optional[cst.BaseExpression]:
        found = self._pool_call_args(updated)
        if found is None:
            return None
        method, func, args = found
        # The code asked for processes already (and Pool pickles just like the executor).
        kind = THREAD if self.executor_mode == THREAD or self.helper_blocked else PROCESS
        if method == "apply":
            return self._offload(original, func, args, kind)
        # Pool.map -> the executor's map (same order, same chunking), its results collected by
        # list() in a thread (asyncio.to_thread), so the loop never waits on them.
        if not self.name_is_free(original, "asyncio", "asyncio"):
            return None
        if kind == PROCESS:
            mapped = cst.Call(
                func=cst.Attribute(self._executor_expr(PROCESS), cst.Name("map")),
                args=[cst.Arg(func), *args],
            )
        else:
            mapped = cst.Call(func=cst.Name("map"), args=[cst.Arg(func), args[0]])
        self.add_needed_import("asyncio")
        return to_thread(cst.Arg(cst.Name("list")), cst.Arg(mapped))

    def _direct_pool(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``Pool().apply(f)`` / ``Pool().map(f, xs)`` in a coroutine."""
        pool = original.func.value  # type: ignore[union-attr]
        if not (isinstance(pool, cst.Call) and self._is_pool(pool)):
            return updated
        where = self.coroutine_of(original)
        if not isinstance(where, cst.FunctionDef):
            return updated
        method = original.func.attr.value  # type: ignore[union-attr]
        if method in ("apply", "map") and self._pool_args_ok(pool):
            new = self._pool_rewrite(original, updated)
            if new is not None:
                self.drop_import_if_unused(pool.func)
                self.rewrote()
                return new
        self.report(
            original,
            CPU003,
            f"multiprocessing.Pool().{method}() in a coroutine blocks the event loop",
            "use one module-level ProcessPoolExecutor and await loop.run_in_executor",
        )
        return updated

    def _report_pool_method(self, call: cst.Call) -> None:
        receiver = call.func.value  # type: ignore[union-attr]
        if id(call) in self.pool_calls or not isinstance(self.coroutine_of(call), cst.FunctionDef):
            return
        scope = self.get_metadata(ScopeProvider, receiver, None)
        if scope is None:
            return
        for assignment in scope[receiver.value]:
            bound = assignment.node
            parent = self.bindings.get(id(bound))
            if isinstance(parent, cst.Call) and self._is_pool(parent):
                self.report(
                    call,
                    CPU003,
                    f"multiprocessing.Pool.{call.func.attr.value}() in a coroutine blocks the event loop",  # type: ignore
                    "use one module-level ProcessPoolExecutor and await loop.run_in_executor",
                )
                return

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.bindings[id(target.target)] = node.value

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.bindings[id(node.asname.name)] = node.item

    def leave_With(self, original: cst.With, updated: cst.With) -> Any:
        """Unwrap ``with Pool() as p:`` once every use of ``p`` in it was rewritten."""
        if id(original) not in self.pool_withs:
            return updated
        _, calls = self.pool_withs[id(original)]
        if not calls <= self.pool_rewritten or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        self.drop_import_if_unused(original.items[0].item.func)  # type: ignore[attr-defined]
        body = list(updated.body.body)
        first = body[0]
        # A comment on the `with` line is kept, above what was the block's first statement.
        header = updated.body.header.comment
        said = [cst.EmptyLine(comment=header)] if header is not None else []
        body[0] = first.with_changes(
            leading_lines=[*updated.leading_lines, *said, *first.leading_lines]
        )
        return cst.FlattenSentinel(body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.need_helper or self.helper_exists:
            return updated
        self.add_needed_import("functools")
        # Imported with the module (the import is the slow part of a first use), but the pool
        # itself is created on first use.
        self.add_needed_import("concurrent.futures", "ProcessPoolExecutor")
        app, why_not = self._app_for_pool(original)
        closing = ""
        if app is not None:
            closing = "\n    The app's lifespan shuts it down at exit; a use after that makes a new one.\n"
        elif why_not:
            closing = (
                "\n"
                + textwrap.fill(
                    f"Not shut down with the app ({why_not}): it lives as long as the process.",
                    width=96,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
                + "\n"
            )
        helper = cst.parse_statement(
            "@functools.lru_cache(maxsize=None)\n"
            f"def {HELPER}():\n"
            '    """The process pool for this module\'s CPU-bound calls (added by asyncfix).\n'
            "\n"
            "    Created once, on first use: importing the module starts no process and leaves the\n"
            "    multiprocessing start method alone, so it also imports cleanly in a spawned worker.\n"
            f"{closing}"
            '    """\n'
            "    return ProcessPoolExecutor()\n"
        )
        body = list(updated.body)
        if app is not None:
            self.add_needed_import("asyncio")
            if app.function is None:
                self.add_needed_import("contextlib", "asynccontextmanager")
            shutdown = [
                cst.parse_statement(f"await asyncio.to_thread({HELPER}().shutdown)\n"),
                cst.parse_statement(f"{HELPER}.cache_clear()\n"),
            ]
            close_with_app(body, app, shutdown)
        insert_helper(body, helper)
        return updated.with_changes(body=body)

    def _app_for_pool(self, module: cst.Module) -> Tuple[Optional[LifespanSite], str]:
        """Where the pool is shut down: (this module's FastAPI app's lifespan, "") when its
        own lifespan shows where its shutdown runs, or one can be added (closure: nothing in the
        project wires startup/shutdown already); else (None, why not), the reason empty when the
        module makes no app. Without a lifespan the pool lives as long as the process."""
        is_app = lambda func: self.imported_name(func) == "fastapi.FastAPI"  # noqa: E731
        makes_app = any(
            is_app(call.func)
            for statement in module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for call in m.findall(statement, m.Call())
        )
        if not makes_app:
            return None, ""
        # (No word of APP_EVENT_TOKENS in these: they end up in the code, read by later runs.)
        wired = "the app wires its own startup/shutdown, which asyncfix leaves as it is"
        site = lifespan_site(module.body, is_app)
        if isinstance(site, str):
            return None, f"{wired}, or there is more than one app"
        scope = self.module_scope
        if not all(isinstance(a.node, cst.Import) for a in scope["asyncio"]):
            return None, "a name the shutdown hook needs is taken in this module"
        if site.function is not None:
            return site, ""  # the app's own lifespan (or the one requests_to_httpx added)
        facts = self.facts
        if (facts is not None and facts.app_events) or any(
            token in self.file.source.encode() for token in APP_EVENT_TOKENS
        ):
            return None, wired
        if scope[LIFESPAN] or not all(
            isinstance(a.node, cst.ImportFrom) and m.matches(a.node.module, m.Name("contextlib"))
            for a in scope["asynccontextmanager"]
        ):
            return None, "a name the shutdown hook needs is taken in this module"
        return site, ""
