"""One file's part of the SQLAlchemy closure (the first pass): the shared objects defined
here, every use of them and whether the transform converts it, and the local reasons a Session
function could not follow.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Set, Tuple

from .astwalk import dotted_name, iter_child_nodes
from .resolve import external
from .sqla_checks import FunctionChecks
from .sqla_commands import cli_commands
from .sqla_facts import (
    ASYNC_AWARE,
    ASYNC_ENGINE,
    CLOSURE,
    CREATE_ASYNC_ENGINE,
    CREATE_ENGINE,
    DDL,
    DEPENDENCY,
    DRIVERS,
    ENGINE,
    FACTORY,
    FASTAPI_APP,
    FIXTURE,
    FROM_SETTINGS,
    GENERATOR_RETURNS,
    SESSION_CLASSES,
    SESSIONMAKERS,
    STAYS_SYNC,
    SYNC_URL,
    URL,
    FileFacts,
    Shared,
    Site,
    Use,
    _env_default,
    _imports,
    _is_test_module,
    _map_scheme,
    _resolve,
    _sqlite_evidence,
    _url_status,
)
from .sqla_scopes import connection_only, scope_variable
from .sqla_shapes import (
    _closes,
    _Defs,
    _first_or,
    _has_params,
    _local_names,
    _module_aliases,
    _own,
    _passed,
    _try_create_yield_close,
    _try_yield_close,
)


class _Scan(FunctionChecks):
    """One file's part of the closure (see the comment at the top of this section)."""

    def __init__(self, tree: ast.Module, path: str, source: bytes) -> None:
        self.tree = tree
        self.path = path
        self.lines = source.split(b"\n")
        # One walk of the tree: parents, and the nodes the questions below are about.
        self.parents: Dict[int, ast.AST] = {}
        self.names: List[ast.Name] = []
        self.calls: List[ast.Call] = []
        import_nodes: List[ast.AST] = []
        stack: List[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            for child in iter_child_nodes(node):
                self.parents[id(child)] = node
                stack.append(child)
            if isinstance(node, ast.Name):
                self.names.append(node)
            elif isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                import_nodes.append(node)
        self.names.reverse()
        self._locals: Dict[int, Set[str]] = {}
        self.calls.reverse()
        import_nodes.reverse()
        self.imports = _imports(import_nodes)
        self.cli_commands = cli_commands(tree, self.imports)  # typer/click: name -> line
        self.blockers: List[Site] = []
        self.residual: List[Site] = []
        self.needs: Dict[str, ast.AST] = {}  # name a rewrite imports -> where it is needed
        self.passed: Set[str] = set()  # function names handed to other code as values
        self.fixture_blockers: List[Site] = []
        self.disposals: List[Tuple[str, int]] = []
        self.connections: List[int] = []  # lines of `with engine.connect() as c` that convert
        self.project_imports: Dict[str, Tuple[int, str, str]] = {}
        for node in import_nodes:
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
                if node.level or not external(top):
                    for alias in node.names:
                        if alias.name != "*":
                            self.project_imports[alias.asname or alias.name] = (
                                node.level,
                                node.module or "",
                                alias.name,
                            )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if not external(alias.name.split(".")[0]):
                        local = alias.asname or alias.name.split(".")[0]
                        self.project_imports[local] = (0, alias.name if alias.asname else local, "")
        self.module_strings: Dict[str, ast.AST] = {}
        for statement in tree.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, (ast.Constant, ast.JoinedStr))
            ):
                self.module_strings[statement.targets[0].id] = statement.value
        # `URL = os.environ.get("X", "postgresql://...")`: the default names the URL's dialect
        self.env_defaults: Dict[str, str] = {
            statement.targets[0].id: default
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            for default in [_env_default(statement.value, self.imports)]
            if default is not None
        }
        self.app = self._app()

    # positions and text

    def text(self, node: ast.AST) -> str:
        """The source of ``node`` on one line (ast's positions are UTF-8 byte offsets)."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset
        if 0 <= first <= last < len(self.lines) and end is not None:
            if first == last:
                raw = self.lines[first][start:end]
            else:
                raw = b"\n".join(
                    [
                        self.lines[first][start:],
                        *self.lines[first + 1 : last],
                        self.lines[last][:end],
                    ]
                )
            segment = raw.decode("utf-8", "replace")
        else:
            segment = ast.unparse(node)
        segment = " ".join(segment.split())
        return segment if len(segment) <= 60 else segment[:57] + "..."

    def site(self, node: ast.AST, code: str, why: str, hint: str = "") -> Site:
        line = node.lineno
        raw = self.lines[line - 1] if line - 1 < len(self.lines) else b""
        column = len(raw[: node.col_offset].decode("utf-8", "replace")) + 1
        return Site(line, column, code, why, hint)

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(id(node))

    def function(self, node: ast.AST) -> Optional[ast.AST]:
        """The def, lambda or class whose body holds ``node``; None at module level."""
        current = self.parent(node)
        while current is not None and not isinstance(
            current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        ):
            current = self.parent(current)
        return current

    def call_refs(self) -> List[Tuple[str, int, int, str, bool]]:
        """(callee as written, line, column, enclosing def's name, is it async) of the calls
        that may reach a CLI command: a name imported from the project, or a local command.
        combine() finds the commands' callers through them (sqla_commands)."""
        found = []
        for call in self.calls:
            written = dotted_name(call.func) or ""
            head = written.partition(".")[0]
            if head not in self.project_imports and written not in self.cli_commands:
                continue
            function = self.function(call)
            found.append(
                (
                    written,
                    call.lineno,
                    call.col_offset + 1,
                    getattr(function, "name", ""),
                    isinstance(function, ast.AsyncFunctionDef),
                )
            )
        return found

    def passed_refs(self) -> List[Tuple[str, int, int]]:
        """(name, line, column) of project names imported here and handed to other code as
        values (``authenticate_user(get_user, ...)``): combine() keeps such a function from
        becoming async, as the await machinery would (a callback is called synchronously)."""
        found = []
        for call in self.calls:
            callee = dotted_name(call.func) or ""
            if callee.rpartition(".")[2] in ASYNC_AWARE:
                continue
            for argument in [*call.args, *(k.value for k in call.keywords)]:
                if isinstance(argument, ast.Name) and argument.id in self.project_imports:
                    found.append((argument.id, argument.lineno, argument.col_offset + 1))
        return found

    def where(self, function: Optional[ast.AST]) -> str:
        if function is None:
            return "at module level"
        if isinstance(function, ast.Lambda):
            return "in a lambda"
        if isinstance(function, ast.ClassDef):
            return f"in the body of class `{function.name}`"
        if isinstance(function, ast.AsyncFunctionDef):
            return f"in `{function.name}`"
        return f"in sync `{function.name}`, which stays sync"

    def _app(self) -> Optional[bool]:
        """True: a module defining ``app = FastAPI()`` with no startup code of its own;
        False: one with startup code; None: no app here."""
        for statement in self.tree.body:
            if (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and _resolve(statement.value.func, self.imports) == FASTAPI_APP
            ):
                startup = any(k.arg in ("lifespan", "on_startup") for k in statement.value.keywords)
                source = b"\n".join(self.lines)
                return not startup and b"on_event" not in source
        return None

    # the shared objects defined here

    def shared(self) -> List[Shared]:
        found: List[Shared] = []
        for statement in self.tree.body:
            if scope_variable(statement, self.imports):  # `@contextmanager def session_scope()`
                name = statement.name  # type: ignore[attr-defined]
                found.append(Shared(name, FACTORY, self.site(statement, CLOSURE, "")))
                continue
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            else:
                continue
            if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
                continue
            callee = _resolve(value.func, self.imports)
            url = _first_or(value, "url")
            if callee in CREATE_ENGINE:
                evidence = _sqlite_evidence(value)
                if isinstance(url, ast.Name) and url.id in self.env_defaults:
                    evidence = evidence or _map_scheme(self.env_defaults[url.id])[1]
                package, why = _url_status(url, self.module_strings, evidence, self.text)
                problem = (
                    None
                    if package
                    else self.site(
                        value,
                        URL,
                        why,
                        (
                            "use a literal URL naming the driver, or declare it in pyproject.toml: "
                            '[tool.asyncfix] async-driver = "postgresql+asyncpg"'
                        )
                        if FROM_SETTINGS in why
                        else "use a literal URL naming the driver, or convert the engine by hand",
                    )
                )
                found.append(
                    Shared(
                        target.id,
                        ENGINE,
                        self.site(value, CLOSURE, ""),
                        problem=problem,
                        driver=package or "",
                    )
                )
            elif callee in CREATE_ASYNC_ENGINE:
                status = url.value if isinstance(url, ast.Constant) else None
                if isinstance(url, ast.Name) and isinstance(
                    self.module_strings.get(url.id), ast.Constant
                ):
                    status = self.module_strings[url.id].value
                driver = _map_scheme(status)[1] if isinstance(status, str) else None
                found.append(
                    Shared(
                        target.id,
                        ASYNC_ENGINE,
                        self.site(value, CLOSURE, ""),
                        driver=driver or "",
                    )
                )
                if isinstance(status, str):
                    scheme = status.partition("://")[0]
                    if scheme in DRIVERS:
                        self.residual.append(
                            self.site(
                                value,
                                SYNC_URL,
                                f"create_async_engine() with the sync driver URL `{scheme}://...`",
                                f"use {DRIVERS[scheme][0]}:// (pip install {DRIVERS[scheme][1]})",
                            )
                        )
            elif callee in SESSIONMAKERS:
                bind = _first_or(value, "bind")
                problem = None
                for keyword in value.keywords:
                    if keyword.arg == "autocommit" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    ):
                        problem = self.site(
                            value,
                            DEPENDENCY,
                            "sessionmaker(autocommit=...) has no async twin",
                            "drop autocommit and use explicit transactions",
                        )
                found.append(
                    Shared(
                        target.id,
                        FACTORY,
                        self.site(value, CLOSURE, ""),
                        bind=(dotted_name(bind) or "") if bind is not None else "",
                        problem=problem,
                    )
                )
        return found

    # uses of names that may be shared objects

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
                if not self.app and not _only_overrides_use(self.tree, ref.partition(".")[0]):
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


def _collect(tree: ast.Module, path: str, source: bytes) -> Optional[FileFacts]:
    scan = _Scan(tree, path, source)
    aliases = _module_aliases(tree, scan.imports)
    imported = frozenset(
        local for local, (_, _, attribute) in scan.project_imports.items() if attribute
    )
    defs = _Defs(scan.imports, aliases, imported)
    defs.visit(tree)
    scan.meets_async = False
    shared = scan.shared()
    scan.maybe_factories = {s.name for s in shared if s.kind == FACTORY} | {
        attribute for _, _, attribute in scan.project_imports.values() if attribute
    }
    candidates = {s.name for s in shared} | {
        local for local, (_, _, attribute) in scan.project_imports.items() if attribute
    }
    passed = scan.passed = _passed(scan.calls)
    uses = scan.uses(candidates)
    for qualname, function, sessions in defs.nodes:
        if sessions or isinstance(function, ast.AsyncFunctionDef):
            scan.session_function(qualname, function, sessions, passed)
    # Parameters annotated by a name imported from the project: checked as sessions, their
    # findings kept apart until combine() knows whether the name is a Session alias.
    alias_defs, alias_blockers = [], []
    for qualname, function, parameter, ref in defs.maybe:
        alias_defs.append((qualname, isinstance(function, ast.AsyncFunctionDef), ref))
        kept, scan.blockers = scan.blockers, []
        scan.session_function(qualname, function, {parameter: "sqlalchemy"}, passed)
        alias_blockers.extend((ref, site) for site in scan.blockers)
        scan.blockers = kept
    scan.relationships()
    scan.clashes()
    call_refs = tuple(scan.call_refs())
    passed_refs = tuple(scan.passed_refs())
    factories = tuple(s.name for s in shared if s.kind == FACTORY)
    if not (
        defs.found
        or shared
        or uses
        or scan.blockers
        or scan.residual
        or scan.meets_async
        or aliases
        or alias_defs
        or scan.fixture_blockers
        or defs.engine_defs
        or scan.cli_commands
        or call_refs
        or passed_refs
    ):
        return None
    return FileFacts(
        session_defs=tuple(defs.found),
        factories=factories,
        shared=tuple(shared),
        imports=tuple((local, *origin) for local, origin in sorted(scan.project_imports.items())),
        uses=tuple(uses),
        blockers=tuple(scan.blockers),
        residual=tuple(scan.residual),
        passed=frozenset(passed),
        meets_async=scan.meets_async,
        aliases=tuple(sorted(aliases.items())),
        alias_defs=tuple(alias_defs),
        alias_blockers=tuple(alias_blockers),
        fixture_blockers=tuple(scan.fixture_blockers),
        disposals=tuple(scan.disposals),
        connections=tuple(scan.connections),
        engine_defs=tuple(defs.engine_defs),
        holders=tuple(sorted(defs.holder_classes)),
        holder_attributes=tuple(
            sorted({a[5:] for attrs in defs.holder_classes.values() for a in attrs})
        ),
        outside_reads=tuple(
            (node.func.value.attr, scan.site(node.func.value, STAYS_SYNC, ""))
            for node in scan.calls
            if isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id not in ("self", "cls")
            and node.func.value.value.id not in scan.imports
        ),
        commands=tuple(sorted(scan.cli_commands.items())),
        call_refs=call_refs,
        passed_refs=passed_refs,
        class_bases=tuple(
            (statement.name, dotted_name(base) or "", scan.site(statement, CLOSURE, ""))
            for statement in tree.body
            if isinstance(statement, ast.ClassDef)
            for base in statement.bases
            if (dotted_name(base) or "").partition(".")[0] in scan.project_imports
        ),
    )


def _only_overrides_use(tree: ast.Module, engine: str) -> bool:
    """In a test module: ``engine`` and the module-level names built from it (a session factory)
    are read only where they are defined, in import-time DDL, and inside the functions installed
    (at any depth) as ``X.dependency_overrides[K] = f``: then the DDL can move into those
    overrides, on the request's loop (sqla_testdb.override_functions decides the same on the
    tree it rewrites)."""
    overrides = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].value, ast.Attribute)
        and node.targets[0].value.attr == "dependency_overrides"
        and isinstance(node.value, ast.Name)
    }
    watched = {engine}
    skipped: List[ast.AST] = []
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            target = statement.targets[0]
            if target.id == engine or any(
                isinstance(n, ast.Name) and n.id in watched for n in ast.walk(statement.value)
            ):
                watched.add(target.id)
                skipped.append(statement)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            if isinstance(func, ast.Attribute) and func.attr in ("create_all", "drop_all"):
                skipped.append(statement)
    if not overrides:
        return False
    inside = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        and function.name in overrides
        for node in ast.walk(function)
    }
    return not any(
        isinstance(node, ast.Name) and node.id in watched and id(node) not in inside
        for statement in tree.body
        if statement not in skipped
        for node in ast.walk(statement)
    )


def _generator_returns(returns: Optional[ast.AST]) -> bool:
    """No return annotation, or ``Generator[...]`` / ``Iterator[...]`` / ``Iterable[...]``: a
    dependency shape whose annotation the transform makes async."""
    if returns is None:
        return True
    node = returns.value if isinstance(returns, ast.Subscript) else None
    name = dotted_name(node) if node is not None else None
    return name is not None and name.rpartition(".")[2] in GENERATOR_RETURNS
