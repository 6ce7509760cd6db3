"""The uses of a file's possibly shared SQLAlchemy objects (engine, session factory), each
classified: does the transform convert it, and if not, why (the first pass, sqla_scan).
"""

from __future__ import annotations

import ast
from typing import List, Optional, Set, Tuple

from .astwalk import dotted_name
from .sqla_facts import (
    CLOSURE,
    DDL,
    DEPENDENCY,
    FIXTURE,
    GENERATOR_RETURNS,
    SESSION_CLASSES,
    SESSIONMAKERS,
    Use,
    _is_test_module,
    _resolve,
)
from .sqla_scopes import connection_only, scope_variable
from .sqla_shapes import (
    _closes,
    _has_params,
    _local_names,
    _own,
    _try_create_yield_close,
    _try_yield_close,
)
from .sqla_testdb import override_functions


class UseClassifier:
    """Mixin of sqla_scan._Scan (needs its FileIndex, ``_locals``, ``disposals``,
    ``connections``, ``ddl_overrides`` and FunctionChecks' ``need`` and ``boundary``)."""

    def uses(self, candidates: Set[str]) -> List[Use]:
        found: List[Use] = []
        for node in self.names:
            if not isinstance(node.ctx, ast.Load):
                continue
            if node.id in self.project_imports and self.project_imports[node.id][2] == "":
                # `import database` / `import app.db as db`: the use is the dotted chain
                chain: ast.AST = node
                while isinstance(self.parent(chain), ast.Attribute) and isinstance(
                    self.parent(chain).ctx, ast.Load
                ):
                    chain = self.parent(chain)
                if chain is node:
                    continue
                found.append(self.classify(chain, dotted_name(chain) or node.id))
            elif node.id in candidates and not self.shadowed(node):
                found.append(self.classify(node, node.id))
        return found

    def shadowed(self, node: ast.Name) -> bool:
        """``node`` names a local of its function (a parameter called ``engine``)."""
        function = self.function(node)
        while isinstance(function, ast.ClassDef):
            function = self.function(function)
        if function is None:
            return False
        key = id(function)
        if key not in self._locals:
            self._locals[key] = _local_names(function)
        return node.id in self._locals[key]

    def classify(self, node: ast.AST, ref: str) -> Use:
        parent = self.parent(node)
        label = self.text(node)
        call: Optional[ast.Call] = None
        bind_arg = False
        if isinstance(parent, ast.keyword):
            call = self.parent(parent)
            bind_arg = parent.arg == "bind"
        elif isinstance(parent, ast.Call) and node in parent.args:
            call = parent
            bind_arg = parent.args[0] is node
        if isinstance(call, ast.Call):
            callee = _resolve(call.func, self.imports)
            if bind_arg and callee in SESSIONMAKERS:
                sync = not any(k.arg == "class_" for k in call.keywords)
                statement = self.parent(call)
                if (
                    isinstance(statement, (ast.Assign, ast.AnnAssign))
                    and self.parent(statement) is self.tree
                ):
                    return Use(ref, self.site(node, CLOSURE, ""), True, sync_session=sync)
                return Use(
                    ref,
                    self.site(
                        node,
                        CLOSURE,
                        f"`{label}` is bound to a sessionmaker() {self.where(self.function(call))}",
                    ),
                    False,
                    sync_session=sync,
                )
            if bind_arg and callee in SESSION_CLASSES:
                return self.session_call(node, ref, call, label)
            if (
                bind_arg
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("create_all", "drop_all")
                and (
                    isinstance(call.func.value, ast.Attribute)
                    and call.func.value.attr == "metadata"
                )
            ):
                return self.ddl(node, ref, call, label)
            position = call.args.index(node) if node in call.args else -1
            keyword = parent.arg if isinstance(parent, ast.keyword) and parent.arg else ""
            return Use(
                ref,
                self.site(node, CLOSURE, f"`{label}` is passed to `{self.text(call.func)}()`"),
                False,
                callee=(dotted_name(call.func) or "", position, keyword),
            )
        if isinstance(parent, ast.Call) and parent.func is node:
            return self.factory_call(node, ref, parent, label)
        if isinstance(parent, ast.Attribute):
            call, function = self.parent(parent), self.function(node)
            if (
                parent.attr == "dispose"
                and isinstance(call, ast.Call)
                and call.func is parent
                and not call.args
                and isinstance(self.parent(call), ast.Expr)
                and isinstance(function, ast.FunctionDef)
                and function.name.startswith("pytest_")
            ):  # a pytest hook runs outside any loop: --migrate makes it `asyncio.run(engine.dispose())`
                self.disposals.append((ref, call.lineno))
                return Use(
                    ref,
                    self.site(
                        node, CLOSURE, f"`{label}.dispose()` in the pytest hook `{function.name}`"
                    ),
                    False,
                    seed="<hook>",
                )
            connection = self.connection(node, ref, parent, label)
            if connection is not None:
                return connection
            return Use(ref, self.site(node, CLOSURE, f"`{label}.{parent.attr}` is used"), False)
        return Use(ref, self.site(node, CLOSURE, f"`{label}` is handed to other code"), False)

    def connection(self, node: ast.AST, ref: str, attribute: ast.Attribute, label: str):
        """``with engine.connect() as conn`` / ``engine.begin()`` whose ``conn`` is only the
        receiver of awaitable Connection calls: ``async with`` (the function made async)."""
        call = self.parent(attribute)
        if attribute.attr not in ("connect", "begin") or not isinstance(call, ast.Call):
            return None
        if call.func is not attribute or call.args or call.keywords:
            return None
        shape = self._with_item(call)
        function = self.function(call)
        if shape is None or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        block, variable = shape
        if len(block.items) != 1 or not connection_only(function, variable):
            return None
        self.connections.append(block.lineno)
        if isinstance(function, ast.AsyncFunctionDef):
            return Use(ref, self.site(node, CLOSURE, ""), True, in_coroutine=True)
        where = f"`with {label}.{attribute.attr}()` {self.where(function)}"
        return Use(ref, self.site(call, CLOSURE, where), False, seed=self.seedable(function, block))

    def _with_item(self, call: ast.Call) -> Optional[Tuple[ast.With, str]]:
        item = self.parent(call)
        if (
            isinstance(item, ast.withitem)
            and item.context_expr is call
            and isinstance(item.optional_vars, ast.Name)
        ):
            block = self.parent(item)
            if isinstance(block, ast.With):
                return block, item.optional_vars.id
        return None

    def _dependency_with(self, function: Optional[ast.AST], block: ast.With, variable: str) -> bool:
        """``def get_db(): with X as db: yield db`` (the transform's dependency shape)."""
        return (
            isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            and not _has_params(function)
            and not function.decorator_list
            and _generator_returns(function.returns)
            and function.body == [block]
            and len(block.items) == 1
            and len(block.body) == 1
            and isinstance(block.body[0], ast.Expr)
            and isinstance(block.body[0].value, ast.Yield)
            and block.body[0].value.value is not None
            and (  # `yield db`, or what is built on it (`yield UserRepository(db)`)
                not isinstance(block.body[0].value.value, ast.Name)
                or block.body[0].value.value.id == variable
            )
        )

    def session_call(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        function = self.function(call)
        shape = self._with_item(call)
        text = f"Session({label})"
        if shape is not None:
            block, variable = shape
            if isinstance(function, ast.AsyncFunctionDef) and len(block.items) == 1:
                self.need("AsyncSession", call)
                return Use(
                    ref, self.site(node, CLOSURE, ""), True, sync_session=True, in_coroutine=True
                )
            if self._dependency_with(function, block, variable):
                self.need("AsyncSession", call)
                return Use(ref, self.site(node, CLOSURE, ""), True, sync_session=True)
            return Use(
                ref,
                self.site(call, CLOSURE, f"`with {text}` {self.where(function)}"),
                False,
                sync_session=True,
                seed=self.seedable(function, block),
            )
        return Use(
            ref,
            self.site(call, CLOSURE, f"`{text}` outside a `with` block {self.where(function)}"),
            False,
            sync_session=True,
        )

    def factory_call(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        function = self.function(call)
        shape = self._with_item(call)
        if call.args or call.keywords:
            return Use(
                ref, self.site(call, CLOSURE, f"`{label}(...)` is called with arguments"), False
            )
        if shape is not None:
            block, variable = shape
            if isinstance(function, ast.AsyncFunctionDef) and len(block.items) == 1:
                return Use(ref, self.site(node, CLOSURE, ""), True, in_coroutine=True)
            if self._dependency_with(function, block, variable):
                return Use(ref, self.site(node, CLOSURE, ""), True)
            return Use(
                ref,
                self.site(call, CLOSURE, f"`with {label}()` {self.where(function)}"),
                False,
                seed=self.seedable(function, block),
            )
        statement = self.parent(call)
        if (
            isinstance(statement, ast.Assign)
            and function is not None
            and self.parent(function) is self.tree
            and statement in function.body  # type: ignore[attr-defined]
            and scope_variable(function, self.imports) is not None
        ):  # the session a session scope opens: the scope converts as a whole
            return Use(ref, self.site(node, CLOSURE, ""), True)
        if (
            isinstance(statement, ast.Assign)
            and isinstance(function, ast.FunctionDef)
            and not any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(function))
        ):
            # `db = F()` then `try: ... finally: db.close()` in a helper or a test: `async with F() as db: ...`
            following = self._next_statement(statement)
            if (
                len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(following, ast.Try)
                and not following.handlers
                and not following.orelse
                and _closes(following.finalbody, statement.targets[0].id)
            ):
                return Use(
                    ref,
                    self.site(
                        call, CLOSURE, f"`{label}()` closed in `finally` {self.where(function)}"
                    ),
                    False,
                    seed=self.seedable(function),
                )
        if (
            isinstance(statement, ast.Assign)
            and isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            and function.body
            and function.body[0] is statement
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and not _has_params(function)
            and not function.decorator_list
            and function.returns is None
            and len(function.body) == 2
        ):
            if _try_yield_close(function.body[1], statement.targets[0].id):
                return Use(ref, self.site(node, CLOSURE, ""), True)
            return Use(
                ref,
                self.site(
                    function,
                    DEPENDENCY,
                    f"session dependency `{function.name}` has a shape asyncfix does not convert",
                    "write it as `with SessionLocal() as db: yield db`",
                ),
                False,
            )
        block = self.parent(statement)
        if (
            isinstance(statement, ast.Assign)
            and isinstance(block, ast.Try)
            and block.body[0] is statement
            and isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            and function.body == [block]
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and not _has_params(function)
            and not function.decorator_list
            and _generator_returns(function.returns)
            and _try_create_yield_close(block, statement.targets[0].id)
        ):
            return Use(ref, self.site(node, CLOSURE, ""), True)
        return Use(
            ref,
            self.site(
                call,
                CLOSURE,
                f"`{label}()` outside a dependency or `with` block {self.where(function)}",
            ),
            False,
        )

    def ddl(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        statement = self.parent(call)
        function = self.function(call)
        what = f"`{self.text(call)}`"
        if not isinstance(statement, ast.Expr) or len(call.args) + len(call.keywords) != 1:
            return Use(
                ref,
                self.site(call, CLOSURE, f"{what} is not a plain statement asyncfix can move"),
                False,
            )
        if function is None and self.parent(statement) is self.tree:
            if self.app or (self.app is None and _is_test_module(self.path)):
                engine = ref.partition(".")[0]
                overrides = None if self.app else override_functions(self.tree, engine)
                if not self.app and overrides is None:
                    return Use(
                        ref,
                        self.site(
                            call,
                            DDL,
                            f"{what} runs at import time in a test module that uses its engine "
                            "outside its dependency overrides: only a throwaway asyncio.run at "
                            "import could run it, on a loop no test uses",
                            "create the tables in the override (before its session opens) or "
                            "in an async fixture, then rerun asyncfix",
                        ),
                        False,
                    )
                if overrides is not None:
                    self.ddl_overrides[engine] = overrides
                self.need("lifespan" if self.app else "create_tables", call)
                return Use(ref, self.site(node, CLOSURE, ""), True)
            why = (
                "and the app already has startup code"
                if self.app is False
                else "in a module with no app lifespan to run it"
            )
            return Use(
                ref,
                self.site(
                    call,
                    DDL,
                    f"{what} runs at import time {why}",
                    "run it in the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`",
                ),
                False,
            )
        if isinstance(function, ast.AsyncFunctionDef) and "conn" not in _local_names(function):
            return Use(ref, self.site(node, CLOSURE, ""), True)
        seed = (
            self.seedable(function)
            if isinstance(function, ast.FunctionDef) and "conn" not in _local_names(function)
            else ""
        )
        return Use(
            ref, self.site(call, CLOSURE, f"{what} {self.where(function)}"), False, seed=seed
        )

    def _next_statement(self, statement: ast.AST) -> Optional[ast.AST]:
        parent = self.parent(statement)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and statement in block:
                index = block.index(statement)
                return block[index + 1] if index + 1 < len(block) else None
        return None

    def seedable(self, function: Optional[ast.AST], block: Optional[ast.With] = None) -> str:
        """The qualified name of ``function`` if it is a sync ``def`` that could become async
        (with the one-item ``with`` block in it converted); "" otherwise."""
        if not isinstance(function, ast.FunctionDef) or (
            block is not None and len(block.items) != 1
        ):
            return ""
        parts: List[str] = []
        current: Optional[ast.AST] = function
        while current is not None:
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts[:0] = [current.name, "<locals>"] if parts else [current.name]
            elif isinstance(current, ast.ClassDef):
                parts.insert(0, current.name)
            elif isinstance(current, ast.Lambda):
                return ""
            current = self.function(current)
        qualname = ".".join(parts)
        return (
            "" if self.boundary(qualname, function, self.passed) not in ("", FIXTURE) else qualname
        )


def _generator_returns(returns: Optional[ast.AST]) -> bool:
    """No return annotation, or ``Generator[...]`` / ``Iterator[...]`` / ``Iterable[...]``: a
    dependency shape whose annotation the transform makes async."""
    if returns is None:
        return True
    node = returns.value if isinstance(returns, ast.Subscript) else None
    name = dotted_name(node) if node is not None else None
    return name is not None and name.rpartition(".")[2] in GENERATOR_RETURNS
