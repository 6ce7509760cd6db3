"""The first pass's checks of Session functions: whether each can become async (boundaries),
whether its session calls and `Query` chains have an async twin, lazy relationships, and names a
rewrite would import that are bound to something else (SQLA001/002/005/007).
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Set, Tuple, Union

from .astwalk import dotted_name
from .callgraph import IGNORE_COMMENT
from .coroutine_tables import ASYNC_AWARE_DECORATORS
from .program_facts import Import
from .propagate import ROUTE_DECORATORS
from .sqla_facts import (
    ASYNC_QUERY,
    ASYNC_SESSION_CLASSES,
    AWAITED_METHODS,
    CHAIN,
    CLASH,
    FIXTURE,
    LAZY,
    RELATIONSHIP,
    SAME_ON_SELECT,
    SESSION_CLASSES,
    STAYS_SYNC,
    TERMINALS,
    WANTED_NAMES,
    _resolve,
)
from .sqla_shapes import (
    _entity,
    _local_names,
    _own,
    _session_method,
)


class FunctionChecks:
    """Mixin of sqla_scan._Scan (needs its ``site``, ``parent``, ``lines``, ``blockers``, ...)."""

    # Session functions: boundaries, queries, names

    def need(self, name: str, node: ast.AST) -> None:
        self.needs.setdefault(name, node)

    def session_function(
        self,
        qualname: str,
        function: Union[ast.FunctionDef, ast.AsyncFunctionDef],
        sessions: Dict[str, str],
        passed: Set[str],
    ) -> None:
        sync = {name for name, kind in sessions.items() if kind != "async"}
        if isinstance(
            function, ast.AsyncFunctionDef
        ):  # sessions opened by `with Session(...)` here
            for node in _own(function):
                if isinstance(node, ast.With):
                    for item in node.items:
                        value = item.context_expr
                        if not isinstance(item.optional_vars, ast.Name) or not isinstance(
                            value, ast.Call
                        ):
                            continue
                        if _resolve(value.func, self.imports) in SESSION_CLASSES:
                            sync.add(item.optional_vars.id)
                            self.meets_async = True
                        elif (
                            not value.args
                            and (dotted_name(value.func) or "").rpartition(".")[2]
                            in self.maybe_factories
                        ):
                            sync.add(item.optional_vars.id)
                elif isinstance(node, ast.AsyncWith):
                    for item in node.items:
                        value = item.context_expr
                        if (
                            isinstance(item.optional_vars, ast.Name)
                            and isinstance(value, ast.Call)
                            and (_resolve(value.func, self.imports) in ASYNC_SESSION_CLASSES)
                        ):
                            sessions = {**sessions, item.optional_vars.id: "async"}
        for name, kind in sessions.items():
            if kind == "async":
                for node in _own(function):
                    if _session_method(node, name) == "query":
                        self.residual.append(
                            self.site(
                                node,
                                ASYNC_QUERY,
                                f"`{name}.query()` on an AsyncSession, which has no query()",
                                "build a select() and `await " + name + ".execute(...)`",
                            )
                        )
        if not sync:
            return
        if any(kind != "async" for kind in sessions.values()):
            self.need("AsyncSession", function)
            if not isinstance(function, ast.AsyncFunctionDef):
                reason = self.boundary(qualname, function, passed)
                if reason:
                    (self.fixture_blockers if reason == FIXTURE else self.blockers).append(
                        self.site(
                            function,
                            STAYS_SYNC,
                            f"`{function.name}` takes a Session but cannot become async: {reason}",
                            "restructure it so that it can be `async def`",
                        )
                    )
        for node in _own(function):
            for name in sync:
                method = _session_method(node, name)
                if method is not None:
                    self.session_call_in(function, node, name, method)
        for node in ast.walk(function):
            if node is function or not isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            ):
                continue
            inner_locals = _local_names(node)
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Name)
                    and inner.id in sync
                    and inner.id not in inner_locals
                ):
                    self.blockers.append(
                        self.site(
                            inner,
                            STAYS_SYNC,
                            f"the session `{inner.id}` is used in a nested function, which stays sync",
                            "move the session work into the function itself",
                        )
                    )
                    return

    def boundary(self, qualname: str, function: ast.FunctionDef, passed: Set[str]) -> str:
        """Why ``function`` cannot become async ("" if it can; FIXTURE: only with --migrate,
        which configures anyio's pytest plugin to run async fixtures)."""
        name = function.name
        if name.startswith("__") and name.endswith("__"):
            return "a dunder method"
        fixture = False
        command = getattr(self, "cli_commands", {}).get(name) == function.lineno
        for decorator in () if command else function.decorator_list:  # sqla_commands splits it
            dotted = (
                dotted_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or "?"
            )
            last = dotted.rpartition(".")[2]
            if "property" in last or last in ("setter", "getter", "deleter"):
                return "a property"
            qualified = _resolve(
                decorator.func if isinstance(decorator, ast.Call) else decorator, self.imports
            )
            if qualified == "pytest.fixture":
                fixture = True
                continue
            if last not in ROUTE_DECORATORS and qualified not in ASYNC_AWARE_DECORATORS:
                return f"decorated with `@{dotted}`, which may call it synchronously"
        if not fixture and any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(function)):
            return "a generator, iterated synchronously"
        line = self.lines[function.lineno - 1] if function.lineno - 1 < len(self.lines) else b""
        if IGNORE_COMMENT.search(line.decode("utf-8", "replace")):
            return "it is marked `# asyncfix: ignore`"
        if fixture:  # pytest calls it; a parameter of the same name elsewhere is no callback
            return FIXTURE
        if name in passed:
            return "it is passed to other code as a callback"
        return ""

    def session_call_in(self, function: ast.AST, call: ast.Call, name: str, method: str) -> None:
        in_genexp = self._in_genexp(call, function)
        if method == "query":
            problem, needs = self.query_problem(call)
            if problem is not None and self.query_variable(function, call) is not None:
                problem, needs = None, ("select",)
            if problem is None and in_genexp:
                problem = "a session query inside a generator expression cannot be awaited"
            if problem is not None:
                self.blockers.append(
                    self.site(
                        call,
                        CHAIN,
                        problem,
                        "rewrite it with select() by hand, then rerun asyncfix",
                    )
                )
            for needed in needs:
                self.need(needed, call)
            return
        if method in AWAITED_METHODS or method == "exec":
            if in_genexp:
                self.blockers.append(
                    self.site(
                        call,
                        CHAIN,
                        f"`{name}.{method}()` inside a generator expression cannot be awaited",
                        "use a loop or a list comprehension",
                    )
                )
            elif (
                method in ("execute", "scalars", "scalar")
                and call.args
                and isinstance(call.args[0], (ast.Constant, ast.JoinedStr))
            ):
                self.need("text", call)

    def _in_genexp(self, node: ast.AST, function: ast.AST) -> bool:
        current = self.parent(node)
        while current is not None and current is not function:
            if isinstance(current, ast.GeneratorExp):
                return True
            current = self.parent(current)
        return False

    def query_variable(self, function: ast.AST, query: ast.Call) -> Optional[str]:
        """``q = s.query(E).filter(...)`` whose every later use is ``q = q.filter(...)`` or a chain
        finished in one expression (``q.order_by(...).all()``): the variable, which the
        transform makes a ``select()`` and awaits where it is finished; None otherwise.
        Mirrors SqlalchemyToAsync._query_variables."""
        if query.keywords or not query.args or any(isinstance(a, ast.Starred) for a in query.args):
            return None
        top, methods = self._chain_up(query)
        statement = self.parent(top)
        if not (
            isinstance(statement, ast.Assign)
            and statement.value is top
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and all(m in SAME_ON_SELECT for m in methods)
        ):
            return None
        variable = statement.targets[0].id
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Name)
                and node.id == variable
                and node is not statement.targets[0]
            ):
                if self.function(node) is not function:
                    return None  # a nested function or class uses it
                if isinstance(node.ctx, ast.Store):
                    rebound = self.parent(node)
                    head = rebound.value if isinstance(rebound, ast.Assign) else None
                    while isinstance(head, ast.Call) and isinstance(head.func, ast.Attribute):
                        head = head.func.value
                    if not (isinstance(head, ast.Name) and head.id == variable):
                        return None
                    continue
                top, methods = self._chain_up(node)
                parent = self.parent(top)
                if (
                    isinstance(parent, ast.Assign)
                    and parent.value is top
                    and len(parent.targets) == 1
                    and isinstance(parent.targets[0], ast.Name)
                    and parent.targets[0].id == variable
                    and methods
                    and all(m in SAME_ON_SELECT for m in methods)
                ):
                    continue
                if not methods or methods[-1] not in TERMINALS - {"get", "update", "delete"}:
                    return None
                if any(m not in SAME_ON_SELECT for m in methods[:-1]) or self._in_genexp(
                    node, function
                ):
                    return None
                if isinstance(top, ast.Call) and (top.args or top.keywords):
                    return None
        return variable

    def _chain_up(self, node: ast.AST) -> Tuple[ast.AST, List[str]]:
        """The outermost ``node.m1(...).m2(...)`` call and its method names."""
        methods: List[str] = []
        while True:
            attribute = self.parent(node)
            call = self.parent(attribute) if isinstance(attribute, ast.Attribute) else None
            if not (isinstance(call, ast.Call) and call.func is attribute):
                return node, methods
            methods.append(attribute.attr)
            node = call

    def query_problem(self, query: ast.Call) -> Tuple[Optional[str], Tuple[str, ...]]:
        """Why the transform cannot map this ``s.query(...)`` chain (None if it can), and the
        names its select() form imports. Mirrors SqlalchemyToAsync._rewrite_query."""
        steps: List[Tuple[str, ast.Call]] = []
        node: ast.AST = query
        while True:
            attribute = self.parent(node)
            call = self.parent(attribute) if isinstance(attribute, ast.Attribute) else None
            if not (isinstance(call, ast.Call) and call.func is attribute):
                break
            steps.append((attribute.attr, call))
            node = call
        if not steps or steps[-1][0] not in TERMINALS:
            return "a `Query` that is not finished by first/one/all/... in one expression", ()
        terminal, last = steps[-1]
        middle = steps[:-1]
        entities = query.args
        if not entities or query.keywords or any(isinstance(a, ast.Starred) for a in entities):
            return "a `Query` over keyword or starred arguments", ()
        for method, _ in middle:
            if method != "with_entities" and method not in SAME_ON_SELECT:
                return f"`Query.{method}()` has no select() twin asyncfix knows", ()
        columns_only = any(method == "with_entities" for method, _ in middle)
        single = len(entities) == 1 and not columns_only and _entity(entities[0])
        if terminal in ("update", "delete"):
            values = [a for a in last.args]
            keywords = {k.arg for k in last.keywords}
            if (
                not single
                or any(method not in ("filter", "filter_by", "where") for method, _ in middle)
                or (
                    None in keywords
                    or keywords - {"synchronize_session", "values"}
                    or len(values) > (1 if terminal == "update" else 0)
                )
            ):
                return f"bulk `Query.{terminal}()` asyncfix does not map", ()
            return None, (terminal,)
        if terminal == "get":
            if any(method != "options" for method, _ in middle) or not single:
                return "`Query.get()` after filters or on several entities", ()
            return None, ()
        if last.args or last.keywords:
            return f"`Query.{terminal}()` with arguments", ()
        return None, ("select", "func") if terminal == "count" else ("select",)

    def relationships(self) -> None:
        """``relationship(..., lazy="select")`` / ``backref=``: lazy loads, which raise
        MissingGreenlet under AsyncSession (the transform makes the others ``selectin``)."""
        for node in self.calls:
            if _resolve(node.func, self.imports) not in RELATIONSHIP:
                continue
            label = self.text(node.args[0]) if node.args else "relationship"
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "backref":
                    self.blockers.append(
                        self.site(
                            node,
                            LAZY,
                            f"the backref of relationship({label}) loads lazily",
                            'declare both sides with back_populates and lazy="selectin"',
                        )
                    )
                elif keyword.arg == "lazy" and (
                    (isinstance(value, ast.Constant) and value.value in ("select", "dynamic", True))
                ):
                    self.blockers.append(
                        self.site(
                            node,
                            LAZY,
                            f"relationship({label}) loads lazily, which raises MissingGreenlet under AsyncSession",
                            'use lazy="selectin", selectinload() in the queries, or AsyncAttrs',
                        )
                    )

    def clashes(self) -> None:
        """A name a rewrite imports, bound to something else at module level."""
        bound: Dict[str, Tuple[ast.AST, Optional[str]]] = {}
        # each import statement's names, as the first pass read them (ModuleFacts.imported)
        imports_at: Dict[Tuple[int, int], List[Import]] = {}
        for entry in self.imported:
            imports_at.setdefault((entry.line, entry.column), []).append(entry)
        for statement in self.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.setdefault(statement.name, (statement, None))
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            bound.setdefault(name.id, (statement, None))
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                for entry in imports_at[(statement.lineno, statement.col_offset)]:
                    bound.setdefault(entry.local, (statement, None if entry.level else entry.path))
        for name, where in self.needs.items():
            if name in bound and bound[name][1] not in WANTED_NAMES[name]:
                statement = bound[name][0]
                self.blockers.append(
                    self.site(
                        statement,
                        CLASH,
                        f"`{name}` is bound to something else here; the async code needs it",
                        f"rename the local `{name}`, then rerun asyncfix",
                    )
                )
