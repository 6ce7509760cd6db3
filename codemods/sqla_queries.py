"""The transform's query side: session calls awaited, `Query` chains -> `select()` with the
legacy result shape, bulk update/delete -> `rowcount` (REWRITE_TABLES.md table 1).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

from .base import GENEXP, awaited
from .sqla_facts import AWAITED_METHODS, CHAIN, SAME_ON_SELECT, TERMINALS
from .sqla_holder_rewrite import receiver_name
from .sqla_nodes import _JOINEDLOAD, _attr_call, _is_string, _looks_like_entity, _strip_commas
from .sqla_scopes import CONNECTION_AWAITED


class QueryRewrites:
    """Mixin of SqlalchemyToAsync."""

    # -- calls ---------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        chain = self._chain(node)
        if chain is not None and chain[2] and chain[2][-1][0] in TERMINALS:
            self._consumed.add(id(chain[1]))

    @staticmethod
    def _chain(call: cst.Call):
        """(session receiver, the `s.query(...)` call, [(method, call), ...] after query)."""
        steps: List[Tuple[str, cst.Call]] = []
        node: cst.BaseExpression = call
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            receiver = node.func.value
            if method == "query" and receiver_name(receiver) is not None:
                return receiver, node, list(reversed(steps))
            steps.append((method, node))
            node = receiver
        return None

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in self._connection_vars
            and func.attr.value in CONNECTION_AWAITED
        ):  # `conn.execute(...)` in a converted `with engine.connect() as conn`
            if self._machinery_awaits(original):
                return updated
            self.rewrote()
            return awaited(updated)
        if isinstance(func, cst.Attribute) and receiver_name(func.value) is not None:
            method = func.attr.value
            kind, function = self._session_of(original, func.value)
            if kind is not None:
                if method == "query":
                    if (
                        function is not GENEXP
                        and id(original) in self._query_variables(function)[1]
                    ):
                        if not self._use(
                            original,
                            "sqlmodel" if kind == "sqlmodel" else "sqlalchemy",
                            "select",
                            {"sqlalchemy.select", "sqlmodel.select", "sqlalchemy.sql.select"},
                        ):
                            return updated
                        self.rewrote()  # `q = s.query(E)...` -> `q = select(E)...`, finished below
                        return cst.Call(func=cst.Name("select"), args=_strip_commas(updated.args))
                    if id(original) not in self._consumed:
                        self.report(
                            original,
                            CHAIN,
                            "a `Query` that is not finished by first/one/all/... in one expression",
                            "AsyncSession has no query(): build a select() and await session.execute(...)",
                        )
                    return updated
                if function is GENEXP:
                    if method in AWAITED_METHODS or method == "exec":
                        self.report(
                            original,
                            CHAIN,
                            f"`{receiver_name(func.value)}.{method}()` inside a generator expression cannot be awaited",
                            "use a loop or a list comprehension",
                        )
                    return updated
                if method in AWAITED_METHODS or (method == "exec" and kind == "sqlmodel"):
                    return self._await_session_call(original, updated, method)
                return updated
        finished = self._finish_variable(original, updated)
        if finished is not None:
            return finished
        chain = self._chain(original)
        if chain is not None and chain[2] and chain[2][-1][0] in TERMINALS:
            kind, function = self._session_of(original, chain[0])
            if kind is None:
                return updated
            if function is GENEXP:
                self.report(
                    original,
                    CHAIN,
                    "a session query inside a generator expression cannot be awaited",
                    "use a loop or a list comprehension",
                )
                return updated
            new = self._rewrite_query(original, updated, kind)
            return updated if new is None else new
        return self._setup_call(original, updated)

    def _await_session_call(
        self, original: cst.Call, updated: cst.Call, method: str
    ) -> cst.BaseExpression:
        if (
            method in ("execute", "scalars", "scalar")
            and updated.args
            and _is_string(updated.args[0].value)
        ):
            if not self._use(original, "sqlalchemy", "text"):
                return updated
            first = updated.args[0]
            wrapped = first.with_changes(
                value=cst.Call(func=cst.Name("text"), args=[cst.Arg(first.value)])
            )
            updated = updated.with_changes(args=[wrapped, *updated.args[1:]])
        if self._machinery_awaits(original):  # the await machinery awaits this call already
            return updated
        self.rewrote()
        return awaited(updated)

    def _machinery_awaits(self, call: cst.Call) -> bool:
        actions = (
            self.file.project.actions.get(self.file.filename) if self.file.project.actions else None
        )
        if actions is None or not actions.await_spans:
            return False
        position = self.get_metadata(PositionProvider, call.func)
        return (
            position.start.line,
            position.start.column,
            position.end.line,
            position.end.column,
        ) in actions.await_spans

    # -- queries -------------------------------------------------------------------------------

    # -- a query kept in a variable: `q = s.query(E)...`, `q = q.filter(...)`, `q.all()` ----------

    def _query_variables(
        self, function: Any
    ) -> Tuple[Dict[str, Tuple[cst.BaseExpression, str, List[cst.Arg]]], Set[int]]:
        """({variable: (session, kind, entities)}, ids of their `s.query(...)` calls) of a
        coroutine (see FunctionChecks.query_variable, which decided they convert)."""
        key = id(function)
        if key not in self._variables:
            found: Dict[str, Tuple[cst.BaseExpression, str, List[cst.Arg]]] = {}
            calls: Set[int] = set()
            sessions = (
                self._session_names(function) if isinstance(function, cst.FunctionDef) else {}
            )
            for assign in (
                m.findall(
                    function, m.Assign(targets=[m.AssignTarget(target=m.Name())], value=m.Call())
                )
                if sessions
                else ()
            ):
                node, methods = assign.value, []
                while (
                    isinstance(node, cst.Call)
                    and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value != "query"
                ):
                    methods.append(node.func.attr.value)
                    node = node.func.value
                if (
                    isinstance(node, cst.Call)
                    and isinstance(node.func, cst.Attribute)
                    and receiver_name(node.func.value) in sessions
                    and all(method in SAME_ON_SELECT for method in methods)
                ):
                    session = node.func.value
                    found[assign.targets[0].target.value] = (
                        session,
                        sessions[receiver_name(session)],
                        list(node.args),
                    )
                    calls.add(id(node))
            self._variables[key] = (found, calls)
        return self._variables[key]

    def _finish_variable(
        self, original: cst.Call, updated: cst.Call
    ) -> Optional[cst.BaseExpression]:
        """``q.order_by(...).all()`` on such a variable -> ``(await s.execute(q.order_by(...))).scalars().all()``."""
        steps: List[Tuple[str, cst.Call]] = []
        node: cst.BaseExpression = original
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            steps.append((node.func.attr.value, node))
            node = node.func.value
        if not steps or not isinstance(node, cst.Name) or steps[0][0] not in TERMINALS:
            return None
        function = self.coroutine_of(original)
        if function is None or function is GENEXP:
            return None
        variables, _ = self._query_variables(function)
        if node.value not in variables:
            return None
        session, kind, entities = variables[node.value]
        new_steps: List[Tuple[str, cst.Call]] = []
        current: cst.BaseExpression = updated
        for _ in steps:
            new_steps.append((current.func.attr.value, current))
            current = current.func.value
        new_steps.reverse()
        return self._rewrite_query(
            original, updated, kind, (session, entities, new_steps, cst.Name(node.value))
        )

    def _rewrite_query(
        self, original: cst.Call, updated: cst.Call, kind: str, variable: Any = None
    ) -> Optional[cst.BaseExpression]:
        if variable is None:
            receiver, query, steps = self._chain(updated)
            entities, base = list(query.args), None
        else:
            receiver, entities, steps, base = variable
        terminal, last = steps[-1]
        middle = steps[:-1]
        if not entities or any(a.keyword is not None or a.star for a in entities):
            self.report(
                original,
                CHAIN,
                "a `Query` over keyword or starred arguments",
                "rewrite it with select() by hand",
            )
            return None
        columns_only = False
        for method, _ in middle:
            if method == "with_entities":
                columns_only = True
            elif method not in SAME_ON_SELECT:
                self.report(
                    original,
                    CHAIN,
                    f"`Query.{method}()` has no select() twin asyncfix knows",
                    "rewrite the query with select() by hand",
                )
                return None
        single_entity = (
            len(entities) == 1 and not columns_only and _looks_like_entity(entities[0].value)
        )
        joined = any(m.findall(call, _JOINEDLOAD) for method, call in middle if method == "options")
        session = receiver

        def execute(statement: cst.BaseExpression) -> cst.BaseExpression:
            result: cst.BaseExpression = awaited(
                _attr_call(session, "execute", [cst.Arg(statement)])
            )
            return _attr_call(result, "unique") if joined else result

        select_module = "sqlmodel" if kind == "sqlmodel" else "sqlalchemy"
        if terminal in ("update", "delete"):
            return self._rewrite_dml(
                original, session, entities, middle, terminal, last, single_entity
            )
        if terminal == "get":
            if any(method != "options" for method, _ in middle) or not single_entity:
                self.report(
                    original,
                    CHAIN,
                    "`Query.get()` after filters or on several entities",
                    "use `await session.get(Model, pk)`",
                )
                return None
            args = [cst.Arg(entities[0].value), *_strip_commas(last.args)]
            options = [a for _, call in middle for a in call.args]
            if options:
                args.append(
                    cst.Arg(
                        keyword=cst.Name("options"),
                        value=cst.List([cst.Element(a.value) for a in options]),
                    )
                )
            self.rewrote()
            return awaited(_attr_call(session, "get", args))
        if not self._use(
            original,
            select_module,
            "select",
            {"sqlalchemy.select", "sqlmodel.select", "sqlalchemy.sql.select"},
        ):
            return None
        statement: cst.BaseExpression = base or cst.Call(
            func=cst.Name("select"), args=_strip_commas(entities)
        )
        for method, call in middle:
            name = "with_only_columns" if method == "with_entities" else method
            statement = _attr_call(statement, name, call.args)
        if last.args:
            self.report(
                original, CHAIN, f"`Query.{terminal}()` with arguments", "rewrite it by hand"
            )
            return None
        self.rewrote()
        if terminal == "count":
            if not self._use(original, "sqlalchemy", "func"):
                return None
            source = (
                entities[0].value
                if single_entity and not middle and base is None
                else _attr_call(statement, "subquery")
            )
            counted = _attr_call(
                cst.Call(
                    func=cst.Name("select"), args=[cst.Arg(_attr_call(cst.Name("func"), "count"))]
                ),
                "select_from",
                [cst.Arg(source)],
            )
            return awaited(_attr_call(session, "scalar", [cst.Arg(counted)]))
        if terminal == "scalar":
            aggregate = (
                len(entities) == 1
                and m.matches(entities[0].value, m.Call(func=m.Attribute(value=m.Name("func"))))
                and not any(method in ("group_by", "join", "outerjoin") for method, _ in middle)
            )
            if aggregate and not joined:  # one aggregate row, always exactly one
                return awaited(_attr_call(session, "scalar", [cst.Arg(statement)]))
            return _attr_call(execute(statement), "scalar_one_or_none")
        if terminal == "first":
            limited = _attr_call(statement, "limit", [cst.Arg(cst.Integer("1"))])
            if single_entity and not joined:
                # Session.scalar(stmt) is execute(stmt).scalar(): the first column of the first
                # row or None, the result closed, as execute(stmt).scalars().first().
                return awaited(_attr_call(session, "scalar", [cst.Arg(limited)]))
            result = execute(limited)
            return (
                _attr_call(_attr_call(result, "scalars"), "first")
                if single_entity
                else _attr_call(result, "first")
            )
        if terminal in ("one", "one_or_none"):
            result = execute(statement)
            return (
                _attr_call(result, f"scalar_{terminal}")
                if single_entity
                else _attr_call(result, terminal)
            )
        result = execute(statement)  # all
        return (
            _attr_call(_attr_call(result, "scalars"), "all")
            if single_entity
            else _attr_call(result, "all")
        )

    def _rewrite_dml(self, original, session, entities, middle, terminal, last, single_entity):
        if not single_entity or any(
            method not in ("filter", "filter_by", "where") for method, _ in middle
        ):
            self.report(
                original,
                CHAIN,
                f"bulk `Query.{terminal}()` after joins/limits or on several entities",
                f"use `await session.execute({terminal}(Model).where(...))`",
            )
            return None
        values = [a for a in last.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in last.args if a.keyword is not None}
        if set(keywords) - {"synchronize_session", "values"} or len(values) > (
            1 if terminal == "update" else 0
        ):
            self.report(
                original,
                CHAIN,
                f"`Query.{terminal}()` with arguments asyncfix does not map",
                f"use `await session.execute({terminal}(Model).where(...))`",
            )
            return None
        if not self._use(original, "sqlalchemy", terminal):
            return None
        statement: cst.BaseExpression = cst.Call(
            func=cst.Name(terminal), args=[cst.Arg(entities[0].value)]
        )
        for method, call in middle:
            statement = _attr_call(
                statement, "filter_by" if method == "filter_by" else "where", call.args
            )
        if terminal == "update":
            value = values[0].value if values else keywords["values"].value
            statement = _attr_call(statement, "values", [cst.Arg(value)])
        if "synchronize_session" in keywords:
            statement = _attr_call(
                statement,
                "execution_options",
                [keywords["synchronize_session"].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
            )
        self.rewrote()
        return cst.Attribute(
            value=awaited(_attr_call(session, "execute", [cst.Arg(statement)])),
            attr=cst.Name("rowcount"),
        )
