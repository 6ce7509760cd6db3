"""The ``multiprocessing.Pool`` rewrite of cpu_to_executor (the pool it runs on: cpu_shared.py).

``with Pool() as p: p.apply(f, args)`` / ``p.map(f, xs)`` in a coroutine become awaited calls
on the process pool and the ``with`` goes; ``Pool().apply/map(...)`` likewise. Other uses are
reported (CPU003). A mixin of :class:`~.cpu_to_executor.CpuToExecutor`: it shares the
codemod's per-file state and offload helpers.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .cpu_facts import CPU003, PROCESS, THREAD
from .cpu_sites import POOL_SHAPE
from .emit import to_thread


class PoolRewrite:
    """``multiprocessing.Pool`` in coroutines -> the process pool (see the module docstring)."""

    def visit_With(self, node: cst.With) -> None:
        """Mark ``with Pool() as p:`` blocks whose body only calls ``p.apply``/``p.map``: the
        ones cpu_sites.py takes (its verdict on the ``Pool``, the one statement of the shapes)."""
        if len(node.items) != 1 or node.asynchronous is not None:
            return
        item = node.items[0]
        if not (
            isinstance(item.item, cst.Call)
            and self._is_pool(item.item)
            and isinstance(item.asname, cst.AsName)
            and isinstance(item.asname.name, cst.Name)
            and isinstance(self.coroutine_of(node), cst.FunctionDef)
            and self._site(item.item.func) == POOL_SHAPE
        ):
            return
        name = item.asname.name.value
        calls = m.findall(
            node.body,
            m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("apply") | m.Name("map"))),
        )
        self.pool_withs[id(node)] = (name, frozenset(id(call) for call in calls))
        self.pool_calls.update(id(call) for call in calls)

    def _is_pool(self, call: cst.Call) -> bool:
        return self.imported_name(call.func) in (
            "multiprocessing.Pool",
            "multiprocessing.pool.Pool",
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
        if self._site(pool.func) == POOL_SHAPE:
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
