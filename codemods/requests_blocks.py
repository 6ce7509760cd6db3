"""The client block of a coroutine (``requests_to_httpx``): which of its planned calls run on
the app's shared client, which on a client of the function's own (one per distinct setting,
named by requests_clients.py), and the statements that client block covers. A mixin of
:class:`~.requests_to_httpx.RequestsToHttpx`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .requests_nodes import CallPlan, dotted, source_of
from .requests_tables import BLOCKING


class ClientBlocks:
    """Plans the client block of each coroutine (see the module docstring)."""

    def _plan_function(
        self, module: cst.Module, where: cst.FunctionDef, planned: List[Tuple[cst.Call, CallPlan]]
    ) -> None:
        body = where.body
        statements: Sequence[cst.CSTNode] = (
            body.body if isinstance(body, cst.IndentedBlock) else [body]
        )
        indices = []
        for call, _ in planned:
            for index, statement in enumerate(statements):
                if self._inside(call, statement):
                    indices.append(index)
                    break
        first = min(indices)
        start = self._position(statements[first])[0]
        used = {n.value for n in m.findall(where, m.Name())}
        groups: Dict[Tuple[str, str], str] = {}
        accepted: List[Tuple[str, cst.Call]] = []
        for call, plan in planned:
            if plan.family == "requests" and not plan.client_kwargs and self._shared_name:
                # The app's one client (requests_clients.py): nothing to create here.
                plan.shared = True
                self._calls[id(call)] = plan
                if plan.with_id is not None:
                    self._async_withs[plan.with_id] = None
                    self._async_fors.update(plan.fors)
                self.drop_import_if_unused(call.func)
                self.rewrote()
                continue
            for _, value in plan.client_kwargs:
                problem = self._late_value(value, where, start)
                if problem:
                    self.report(
                        call,
                        BLOCKING,
                        f"blocking HTTP call in a coroutine: {problem}",
                        "compute the client settings before the first request of the function",
                    )
                    break
            else:
                key = (plan.family, repr([(k, source_of(v)) for k, v in plan.client_kwargs]))
                if key not in groups:
                    groups[key] = self._client_name(used, plan)
                    used.add(groups[key])
                    accepted.append((groups[key], self._async_client(plan)))
                plan.receiver = groups[key]
                self._calls[id(call)] = plan
                if plan.with_id is not None:
                    self._async_withs[plan.with_id] = None
                    self._async_fors.update(plan.fors)
                self.drop_import_if_unused(call.func)
                self.rewrote()
        if accepted:
            covered = [
                index
                for index, statement in enumerate(statements)
                for call, plan in planned
                if not plan.shared and id(call) in self._calls and self._inside(call, statement)
            ]
            self._functions[id(where)] = (min(covered), max(covered), accepted)
            self.add_needed_import("httpx")
        if accepted or any(plan.shared for _, plan in planned):
            self._plan_return_annotation(where)

    def _plan_return_annotation(self, where: cst.FunctionDef) -> None:
        """``-> requests.Response`` of a function whose calls became httpx calls: it returns
        an ``httpx.Response`` now (and the annotation would keep ``import requests`` alive)."""
        if where.returns is None:
            return
        for node in m.findall(where.returns, m.Attribute() | m.Name()):
            if self._qualified(node) in ("requests.Response", "requests.models.Response"):
                self._renames[id(node)] = dotted("httpx.Response")
                self.drop_import_if_unused(node)

    def _late_value(
        self, value: cst.BaseExpression, where: cst.FunctionDef, start: Tuple[int, int]
    ) -> Optional[str]:
        """Why ``value`` cannot be evaluated where the client is created (None if it can)."""
        function_scope = self.get_metadata(ScopeProvider, where.body, None)
        for name in m.findall(value, m.Name()):
            scope = self.get_metadata(ScopeProvider, name, None)
            if scope is None:
                continue
            for assignment in scope[name.value]:
                if assignment.scope is not function_scope:
                    continue
                node = assignment.node
                if isinstance(node, cst.Param):
                    continue
                if isinstance(node, cst.CSTNode) and self._position(node)[0] < start:
                    continue
                return f"a client setting (`{name.value}`) is computed where the client does not exist yet"
        return None
