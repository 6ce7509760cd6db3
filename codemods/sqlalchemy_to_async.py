"""sqlalchemy_to_async: a sync SQLAlchemy ``Session`` app becomes an ``AsyncSession`` app.

Why: a sync ``Session`` query inside an ``async def`` blocks the event loop for the whole round
trip to the database, and ``AsyncSession`` has no ``query()`` at all, so the fix is the whole
chain: queries, session calls, dependency, session factory, engine, table creation
(SQLAlchemy, "Asynchronous I/O": https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html;
the mapping and its traps: ``REWRITE_TABLES.md`` table 1).

Before -> after::

    def get_user(db: Session, uid):                  async def get_user(db: AsyncSession, uid):
        return (                                         return (
            db.query(User)                       ->          await db.execute(
            .filter(User.id == uid)                              select(User).filter(User.id == uid).limit(1)
            .first()                                         )
        )                                                ).scalars().first()

Which projects: only those where a ``Session`` meets async code (a parameter annotated
``Session`` in an ``async def``, or a ``Session`` received from ``Depends(...)``). Then every
sync function taking a ``Session`` is handed to the await machinery (``async_seeds``), which
makes it ``async def`` and awaits its callers across the project; this codemod rewrites, in
those functions: ``Session`` annotations -> ``AsyncSession``; ``Query`` chains -> ``select()``
with the legacy result shape (LIMIT 1 for ``first``, ``scalar_one_or_none`` for ``scalar``,
count over a subquery, Rows for multi-entity/column queries, ``.unique()`` with
``joinedload``, ``update``/``delete`` -> ``rowcount``); awaited session methods; raw SQL strings
-> ``text()``. And, in the same project: ``create_engine`` -> ``create_async_engine`` with the
driver mapped (literal URLs, also through a module-level name); ``sessionmaker`` ->
``async_sessionmaker(..., expire_on_commit=False)``; the session dependency
``db = F(); try: yield db; finally: db.close()`` (and test overrides) ->
``async with F() as db: yield db``; module-level ``Base.metadata.create_all(bind=engine)`` -> the
app's lifespan (a module defining ``FastAPI()``) or ``asyncio.run`` (a test module, imported
outside any loop); ``relationship(...)`` without ``lazy=`` -> ``lazy="selectin"`` (a lazy load
under AsyncSession raises ``MissingGreenlet``). New runtime needs (``greenlet``, the async
driver) go to the migration report.

Closure or nothing (issue 15): the engine, the session factory and the Session functions are
shared by the whole program, so the conversion is applied with every use of them or not at all.
The first pass (``collect``/``combine``) records every use it can see, in any module, of the
module-level engines and factories (resolved through imports), and whether the transform
converts it: ``sessionmaker(bind=engine)``, the dependency shapes, ``with Session(engine) as s`` /
``with Factory() as s`` in a coroutine (-> ``async with AsyncSession(engine,
expire_on_commit=False)``), ``metadata.create_all(engine)`` at module level of an app or test
module or in a coroutine. Anything else (the same in a sync function that stays sync, the
engine handed to other code, a Session function that cannot become async, a query with no
select() twin, a lazy relationship, a name clash, a URL whose async driver cannot be seen)
blocks: nothing converts, no function is seeded, and SQLA008 on the engine's line names the
blocking uses (file:line, why). A URL from settings converts only with evidence of its driver
(SQLite's ``check_same_thread``): ``make_url(url).set(drivername="sqlite+aiosqlite")``.
Whatever the decision, code that is already async and cannot work is reported (SQLA009
``.query()`` on an AsyncSession, SQLA010 a sync-driver URL given to ``create_async_engine``,
SQLA011 a sync Session or sessionmaker on an async engine), so ``--check`` after ``--apply``
never passes a broken tree.

Not rewritten: plain sync SQLAlchemy code in a project where no ``Session`` meets async code
(a script with ``Session(engine)``); everything, when one use cannot convert. Reported instead (SQLA001..SQLA007): query chains it cannot
map (a ``Query`` kept in a variable, unknown methods), ``Session`` functions the machinery cannot
make async, engine URLs whose driver it cannot see, ``create_all`` with no place to run, lazy
relationships it cannot make eager, dependencies of another shape, name clashes; SQLA008..011
as above.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, QualifiedNameSource, ScopeProvider

from .base import GENEXP, Codemod, Diagnostic, awaited
from .project import IGNORE_COMMENT, FastVisitor, dotted_name, iter_child_nodes
from .resolve import absolute, external, module_names, package_of

CHAIN = "SQLA001"
STAYS_SYNC = "SQLA002"
URL = "SQLA003"
DDL = "SQLA004"
LAZY = "SQLA005"
DEPENDENCY = "SQLA006"
CLASH = "SQLA007"
CLOSURE = "SQLA008"
ASYNC_QUERY = "SQLA009"
SYNC_URL = "SQLA010"
SYNC_ON_ASYNC = "SQLA011"

SESSION_CLASSES = frozenset(
    {"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session", "sqlmodel.orm.session.Session"}
)
SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
CREATE_ENGINE = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine"})
RELATIONSHIP = frozenset({"sqlalchemy.orm.relationship", "sqlalchemy.orm.relationships.relationship"})
ASYNC_SESSION_MODULE = {"sqlalchemy": "sqlalchemy.ext.asyncio", "sqlmodel": "sqlmodel.ext.asyncio.session"}
DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends"})

# AsyncSession methods that return awaitables; the others (add, add_all, expunge, ...) stay plain.
AWAITED_METHODS = frozenset(
    {
        "execute", "scalars", "scalar", "get", "get_one", "stream", "stream_scalars", "refresh",
        "delete", "merge", "flush", "commit", "rollback", "close", "reset", "invalidate",
        "connection", "run_sync",
    }
)
# Query methods that exist with the same meaning on select().
SAME_ON_SELECT = frozenset(
    {
        "filter", "filter_by", "where", "order_by", "group_by", "having", "limit", "offset",
        "distinct", "join", "outerjoin", "options", "select_from", "execution_options",
    }
)
TERMINALS = frozenset({"first", "one", "one_or_none", "scalar", "all", "count", "get", "update", "delete"})
DRIVERS: Mapping[str, Tuple[str, str]] = {
    "sqlite": ("sqlite+aiosqlite", "aiosqlite"),
    "sqlite+pysqlite": ("sqlite+aiosqlite", "aiosqlite"),
    "postgresql": ("postgresql+asyncpg", "asyncpg"),
    "postgresql+psycopg2": ("postgresql+asyncpg", "asyncpg"),
    "postgres": ("postgresql+asyncpg", "asyncpg"),
    "mysql": ("mysql+aiomysql", "aiomysql"),
    "mysql+pymysql": ("mysql+aiomysql", "aiomysql"),
    "mysql+mysqldb": ("mysql+aiomysql", "aiomysql"),
}
ASYNC_DRIVERS: Mapping[str, str] = {
    "sqlite+aiosqlite": "aiosqlite",
    "postgresql+asyncpg": "asyncpg",
    "postgresql+psycopg": "psycopg",
    "mysql+aiomysql": "aiomysql",
    "mysql+asyncmy": "asyncmy",
}


# -- the first pass ------------------------------------------------------------------------------
#
# The conversion changes objects every part of the program shares: the engine, the session
# factory, the Session class. It is applied with every use of them or not at all: collect()
# records, per file, the shared objects defined there, every use of a name that may be one of
# them (and whether that use is one the transform converts, and if not, why), and the local
# reasons a Session function could not follow (a boundary, a query with no select() twin, a name
# clash); combine() resolves the uses across files and decides once for the whole program, so
# every file's rewrite sees the same decision.

ENGINE, FACTORY, ASYNC_ENGINE = "engine", "factory", "async engine"
CREATE_ASYNC_ENGINE = frozenset(
    {"sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.ext.asyncio.engine.create_async_engine"}
)
ASYNC_SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
FASTAPI_APP = "fastapi.FastAPI"
# Decorators under which a function may still become async (project.py treats them alike).
ROUTE_DECORATORS = frozenset(
    {
        "get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route",
        "websocket", "route", "middleware", "exception_handler", "on_event",
        "staticmethod", "classmethod",
    }
)
# Calls that take a function and await it when it is a coroutine function.
ASYNC_AWARE = frozenset({"Depends", "Security", "add_api_route", "add_route", "add_task", "add_event_handler"})
# The names a rewrite imports -> what they may already be bound to (anything else is a clash).
WANTED_NAMES: Mapping[str, FrozenSet[str]] = {
    "select": frozenset({"sqlalchemy.select", "sqlmodel.select", "sqlalchemy.sql.select"}),
    "func": frozenset({"sqlalchemy.func"}),
    "update": frozenset({"sqlalchemy.update"}),
    "delete": frozenset({"sqlalchemy.delete"}),
    "text": frozenset({"sqlalchemy.text"}),
    "AsyncSession": ASYNC_SESSION_CLASSES,
    "create_async_engine": CREATE_ASYNC_ENGINE,
    "async_sessionmaker": frozenset({"sqlalchemy.ext.asyncio.async_sessionmaker"}),
    "make_url": frozenset({"sqlalchemy.engine.make_url", "sqlalchemy.make_url", "sqlalchemy.engine.url.make_url"}),
    "lifespan": frozenset(),
    "create_tables": frozenset(),
}
_SEEN_LIMIT = 5  # blocking uses named in one diagnostic


@dataclass(frozen=True)
class Site:
    """Where something is, and what it says: a use that blocks the conversion, or a residual
    problem of code that is already async (line and 1-based column of the file as read)."""

    line: int
    column: int
    code: str
    why: str
    hint: str = ""


@dataclass(frozen=True)
class Shared:
    """A module-level engine or session factory: ``engine = create_engine(...)``."""

    name: str
    kind: str  # ENGINE, FACTORY, ASYNC_ENGINE
    site: Site  # where it is created (its code: CLOSURE)
    bind: str = ""  # a factory's engine, as written (a name or dotted name); "" if none
    problem: Optional[Site] = None  # why its own conversion is impossible (URL, autocommit)


@dataclass(frozen=True)
class Use:
    """A reference to a name that may be a shared object (resolved in combine)."""

    ref: str  # the local name, or a dotted ``module_alias.name``
    site: Site  # why: what the use is, when it blocks
    ok: bool  # the transform converts this use
    sync_session: bool = False  # `Session(e)` / `sessionmaker(e)`: wrong on an async engine
    in_coroutine: bool = False  # `with Factory() as s` in an async def: a Session meets async code


@dataclass(frozen=True)
class FileFacts:
    # (qualname, is_async, the Session comes from Depends(...)) of functions taking a Session
    session_defs: Tuple[Tuple[str, bool, bool], ...]
    factories: Tuple[str, ...]  # module-level names bound to sessionmaker(...)
    shared: Tuple[Shared, ...] = ()
    imports: Tuple[Tuple[str, int, str, str], ...] = ()  # (local, level, module, attribute)
    uses: Tuple[Use, ...] = ()
    blockers: Tuple[Site, ...] = ()  # local reasons the conversion cannot be complete
    residual: Tuple[Site, ...] = ()  # async code that cannot work (reported whatever happens)
    passed: FrozenSet[str] = frozenset()  # function names handed to other code as values
    meets_async: bool = False  # a `Session(...)` opened in a coroutine


@dataclass(frozen=True)
class Combined:
    converting: bool  # a Session meets async code, and every use of what it shares converts
    seeds: Tuple[Tuple[str, str], ...]
    factories: FrozenSet[str]
    refused: bool = False  # a Session meets async code, and some use cannot be converted
    # path -> what the first pass has to say there (blocking uses, residual problems)
    reports: Mapping[str, Tuple[Site, ...]] = None  # type: ignore[assignment]


def _imports(nodes: Iterable[ast.AST]) -> Dict[str, str]:
    names: Dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _resolve(node: Optional[ast.AST], imports: Mapping[str, str]) -> Optional[str]:
    if node is None:
        return None
    dotted = dotted_name(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in imports:
        return None
    return f"{imports[head]}.{rest}" if rest else imports[head]


class _Defs(FastVisitor):
    def __init__(self, imports: Mapping[str, str]) -> None:
        self.imports = imports
        self.prefix: List[str] = []
        self.found: List[Tuple[str, bool, bool]] = []
        self.nodes: List[Tuple[str, Union[ast.FunctionDef, ast.AsyncFunctionDef], Dict[str, str]]] = []

    def _def(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> None:
        qualname = ".".join([*self.prefix, node.name])
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults: Dict[str, ast.expr] = dict(zip([a.arg for a in positional][len(positional) - len(args.defaults):], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        takes = depends = False
        sessions: Dict[str, str] = {}
        for arg in [*positional, *args.kwonlyargs]:
            name = _resolve(arg.annotation, self.imports)
            if name in SESSION_CLASSES:
                takes = True
                sessions[arg.arg] = name.split(".")[0]
                default = defaults.get(arg.arg)
                if isinstance(default, ast.Call) and _resolve(default.func, self.imports) in DEPENDS:
                    depends = True
            elif name in ASYNC_SESSION_CLASSES:
                sessions[arg.arg] = "async"
        if takes:
            self.found.append((qualname, isinstance(node, ast.AsyncFunctionDef), depends))
        self.nodes.append((qualname, node, sessions))
        self.prefix.extend([node.name, "<locals>"])
        self.generic_visit(node)
        del self.prefix[-2:]

    visit_FunctionDef = visit_AsyncFunctionDef = _def

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.prefix.append(node.name)
        self.generic_visit(node)
        self.prefix.pop()


def _is_test_module(filename: str) -> bool:
    base = os.path.basename(filename)
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


def _text_of(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _url_status(
    node: Optional[ast.AST], module_strings: Mapping[str, ast.AST], evidence: Optional[str], show: Any = None
) -> Tuple[Optional[str], str]:
    """(the async driver package, "") when the URL converts; (None, why) when it does not."""
    show = show or _text_of
    if node is None:
        return None, "create_engine() without a URL asyncfix can see"
    if isinstance(node, ast.Name) and node.id in module_strings:
        node = module_strings[node.id]
    text = None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        text = str(node.values[0].value)
    if text is not None:
        _, package = _map_scheme(text)
        if package is None:
            return None, f"the engine URL `{show(node)}` names a driver with no known async twin"
        return package, ""
    if evidence is not None:
        return evidence, ""
    return None, (
        f"the engine URL `{show(node)}` comes from settings or code, so asyncfix cannot see "
        "which async driver it needs"
    )


def _sqlite_evidence(call: ast.Call) -> Optional[str]:
    """``connect_args={"check_same_thread": False}``: only SQLite's driver takes it."""
    for keyword in call.keywords:
        if keyword.arg == "connect_args" and isinstance(keyword.value, ast.Dict):
            for key in keyword.value.keys:
                if isinstance(key, ast.Constant) and key.value == "check_same_thread":
                    return "aiosqlite"
    return None


class _Scan:
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
        self.blockers: List[Site] = []
        self.residual: List[Site] = []
        self.needs: Dict[str, ast.AST] = {}  # name a rewrite imports -> where it is needed
        self.project_imports: Dict[str, Tuple[int, str, str]] = {}
        for node in import_nodes:
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
                if node.level or not external(top):
                    for alias in node.names:
                        if alias.name != "*":
                            self.project_imports[alias.asname or alias.name] = (node.level, node.module or "", alias.name)
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
                raw = b"\n".join([self.lines[first][start:], *self.lines[first + 1:last], self.lines[last][:end]])
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
                package, why = _url_status(url, self.module_strings, _sqlite_evidence(value), self.text)
                problem = None if package else self.site(value, URL, why, "use a literal URL naming the driver, or convert the engine by hand")
                found.append(Shared(target.id, ENGINE, self.site(value, CLOSURE, ""), problem=problem))
            elif callee in CREATE_ASYNC_ENGINE:
                found.append(Shared(target.id, ASYNC_ENGINE, self.site(value, CLOSURE, "")))
                status = url.value if isinstance(url, ast.Constant) else None
                if isinstance(url, ast.Name) and isinstance(self.module_strings.get(url.id), ast.Constant):
                    status = self.module_strings[url.id].value
                if isinstance(status, str):
                    scheme = status.partition("://")[0]
                    if scheme in DRIVERS:
                        self.residual.append(self.site(
                            value, SYNC_URL, f"create_async_engine() with the sync driver URL `{scheme}://...`",
                            f"use {DRIVERS[scheme][0]}:// (pip install {DRIVERS[scheme][1]})",
                        ))
            elif callee in SESSIONMAKERS:
                bind = _first_or(value, "bind")
                problem = None
                for keyword in value.keywords:
                    if keyword.arg == "autocommit" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                        problem = self.site(value, DEPENDENCY, "sessionmaker(autocommit=...) has no async twin",
                                            "drop autocommit and use explicit transactions")
                found.append(Shared(
                    target.id, FACTORY, self.site(value, CLOSURE, ""),
                    bind=(dotted_name(bind) or "") if bind is not None else "", problem=problem,
                ))
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
                while isinstance(self.parent(chain), ast.Attribute) and isinstance(self.parent(chain).ctx, ast.Load):
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
                if isinstance(statement, (ast.Assign, ast.AnnAssign)) and self.parent(statement) is self.tree:
                    return Use(ref, self.site(node, CLOSURE, ""), True, sync_session=sync)
                return Use(ref, self.site(node, CLOSURE, f"`{label}` is bound to a sessionmaker() {self.where(self.function(call))}"),
                           False, sync_session=sync)
            if bind_arg and callee in SESSION_CLASSES:
                return self.session_call(node, ref, call, label)
            if bind_arg and isinstance(call.func, ast.Attribute) and call.func.attr in ("create_all", "drop_all") and (
                isinstance(call.func.value, ast.Attribute) and call.func.value.attr == "metadata"
            ):
                return self.ddl(node, ref, call, label)
            return Use(ref, self.site(node, CLOSURE, f"`{label}` is passed to `{self.text(call.func)}()`"), False)
        if isinstance(parent, ast.Call) and parent.func is node:
            return self.factory_call(node, ref, parent, label)
        if isinstance(parent, ast.Attribute):
            return Use(ref, self.site(node, CLOSURE, f"`{label}.{parent.attr}` is used"), False)
        return Use(ref, self.site(node, CLOSURE, f"`{label}` is handed to other code"), False)

    def _with_item(self, call: ast.Call) -> Optional[Tuple[ast.With, str]]:
        item = self.parent(call)
        if isinstance(item, ast.withitem) and item.context_expr is call and isinstance(item.optional_vars, ast.Name):
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
            and function.returns is None
            and function.body == [block]
            and len(block.items) == 1
            and len(block.body) == 1
            and isinstance(block.body[0], ast.Expr)
            and isinstance(block.body[0].value, ast.Yield)
            and isinstance(block.body[0].value.value, ast.Name)
            and block.body[0].value.value.id == variable
        )

    def session_call(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        function = self.function(call)
        shape = self._with_item(call)
        text = f"Session({label})"
        if shape is not None:
            block, variable = shape
            if isinstance(function, ast.AsyncFunctionDef) and len(block.items) == 1:
                self.need("AsyncSession", call)
                return Use(ref, self.site(node, CLOSURE, ""), True, sync_session=True, in_coroutine=True)
            if self._dependency_with(function, block, variable):
                self.need("AsyncSession", call)
                return Use(ref, self.site(node, CLOSURE, ""), True, sync_session=True)
            return Use(ref, self.site(call, CLOSURE, f"`with {text}` {self.where(function)}"), False, sync_session=True)
        return Use(ref, self.site(call, CLOSURE, f"`{text}` outside a `with` block {self.where(function)}"),
                   False, sync_session=True)

    def factory_call(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        function = self.function(call)
        shape = self._with_item(call)
        if call.args or call.keywords:
            return Use(ref, self.site(call, CLOSURE, f"`{label}(...)` is called with arguments"), False)
        if shape is not None:
            block, variable = shape
            if isinstance(function, ast.AsyncFunctionDef) and len(block.items) == 1:
                return Use(ref, self.site(node, CLOSURE, ""), True, in_coroutine=True)
            if self._dependency_with(function, block, variable):
                return Use(ref, self.site(node, CLOSURE, ""), True)
            return Use(ref, self.site(call, CLOSURE, f"`with {label}()` {self.where(function)}"), False)
        statement = self.parent(call)
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
            return Use(ref, self.site(
                function, DEPENDENCY, f"session dependency `{function.name}` has a shape asyncfix does not convert",
                "write it as `with SessionLocal() as db: yield db`",
            ), False)
        return Use(ref, self.site(call, CLOSURE, f"`{label}()` outside a dependency or `with` block {self.where(function)}"), False)

    def ddl(self, node: ast.AST, ref: str, call: ast.Call, label: str) -> Use:
        statement = self.parent(call)
        function = self.function(call)
        what = f"`{self.text(call)}`"
        if not isinstance(statement, ast.Expr) or len(call.args) + len(call.keywords) != 1:
            return Use(ref, self.site(call, CLOSURE, f"{what} is not a plain statement asyncfix can move"), False)
        if function is None and self.parent(statement) is self.tree:
            if self.app or (self.app is None and _is_test_module(self.path)):
                self.need("lifespan" if self.app else "create_tables", call)
                return Use(ref, self.site(node, CLOSURE, ""), True)
            why = "and the app already has startup code" if self.app is False else "in a module with no app lifespan to run it"
            return Use(ref, self.site(call, DDL, f"{what} runs at import time {why}",
                                      "run it in the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`"), False)
        if isinstance(function, ast.AsyncFunctionDef) and "conn" not in _local_names(function):
            return Use(ref, self.site(node, CLOSURE, ""), True)
        return Use(ref, self.site(call, CLOSURE, f"{what} {self.where(function)}"), False)

    # Session functions: boundaries, queries, names

    def need(self, name: str, node: ast.AST) -> None:
        self.needs.setdefault(name, node)

    def session_function(self, qualname: str, function: Union[ast.FunctionDef, ast.AsyncFunctionDef], sessions: Dict[str, str], passed: Set[str]) -> None:
        sync = {name for name, kind in sessions.items() if kind != "async"}
        if isinstance(function, ast.AsyncFunctionDef):  # sessions opened by `with Session(...)` here
            for node in _own(function):
                if isinstance(node, ast.With):
                    for item in node.items:
                        value = item.context_expr
                        if not isinstance(item.optional_vars, ast.Name) or not isinstance(value, ast.Call):
                            continue
                        if _resolve(value.func, self.imports) in SESSION_CLASSES:
                            sync.add(item.optional_vars.id)
                            self.meets_async = True
                        elif not value.args and (dotted_name(value.func) or "").rpartition(".")[2] in self.maybe_factories:
                            sync.add(item.optional_vars.id)
                elif isinstance(node, ast.AsyncWith):
                    for item in node.items:
                        value = item.context_expr
                        if isinstance(item.optional_vars, ast.Name) and isinstance(value, ast.Call) and (
                            _resolve(value.func, self.imports) in ASYNC_SESSION_CLASSES
                        ):
                            sessions = {**sessions, item.optional_vars.id: "async"}
        for name, kind in sessions.items():
            if kind == "async":
                for node in _own(function):
                    if _session_method(node, name) == "query":
                        self.residual.append(self.site(
                            node, ASYNC_QUERY, f"`{name}.query()` on an AsyncSession, which has no query()",
                            "build a select() and `await " + name + ".execute(...)`",
                        ))
        if not sync:
            return
        if any(kind != "async" for kind in sessions.values()):
            self.need("AsyncSession", function)
            if not isinstance(function, ast.AsyncFunctionDef):
                reason = self.boundary(qualname, function, passed)
                if reason:
                    self.blockers.append(self.site(
                        function, STAYS_SYNC, f"`{function.name}` takes a Session but cannot become async: {reason}",
                        "restructure it so that it can be `async def`",
                    ))
        for node in _own(function):
            for name in sync:
                method = _session_method(node, name)
                if method is not None:
                    self.session_call_in(function, node, name, method)
        for node in ast.walk(function):
            if node is function or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            inner_locals = _local_names(node)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and inner.id in sync and inner.id not in inner_locals:
                    self.blockers.append(self.site(
                        inner, STAYS_SYNC, f"the session `{inner.id}` is used in a nested function, which stays sync",
                        "move the session work into the function itself",
                    ))
                    return

    def boundary(self, qualname: str, function: ast.FunctionDef, passed: Set[str]) -> str:
        name = function.name
        if name.startswith("__") and name.endswith("__"):
            return "a dunder method"
        for decorator in function.decorator_list:
            dotted = dotted_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or "?"
            last = dotted.rpartition(".")[2]
            if "property" in last or last in ("setter", "getter", "deleter"):
                return "a property"
            if last not in ROUTE_DECORATORS:
                return f"decorated with `@{dotted}`, which may call it synchronously"
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(function)):
            return "a generator, iterated synchronously"
        line = self.lines[function.lineno - 1] if function.lineno - 1 < len(self.lines) else b""
        if IGNORE_COMMENT.search(line.decode("utf-8", "replace")):
            return "it is marked `# asyncfix: ignore`"
        if name in passed:
            return "it is passed to other code as a callback"
        return ""

    def session_call_in(self, function: ast.AST, call: ast.Call, name: str, method: str) -> None:
        in_genexp = self._in_genexp(call, function)
        if method == "query":
            problem, needs = self.query_problem(call)
            if problem is None and in_genexp:
                problem = "a session query inside a generator expression cannot be awaited"
            if problem is not None:
                self.blockers.append(self.site(call, CHAIN, problem, "rewrite it with select() by hand, then rerun asyncfix"))
            for needed in needs:
                self.need(needed, call)
            return
        if method in AWAITED_METHODS or method == "exec":
            if in_genexp:
                self.blockers.append(self.site(call, CHAIN, f"`{name}.{method}()` inside a generator expression cannot be awaited",
                                               "use a loop or a list comprehension"))
            elif method in ("execute", "scalars", "scalar") and call.args and isinstance(call.args[0], (ast.Constant, ast.JoinedStr)):
                self.need("text", call)

    def _in_genexp(self, node: ast.AST, function: ast.AST) -> bool:
        current = self.parent(node)
        while current is not None and current is not function:
            if isinstance(current, ast.GeneratorExp):
                return True
            current = self.parent(current)
        return False

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
            if not single or any(method not in ("filter", "filter_by", "where") for method, _ in middle) or (
                None in keywords or keywords - {"synchronize_session", "values"} or len(values) > (1 if terminal == "update" else 0)
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
                    self.blockers.append(self.site(node, LAZY, f"the backref of relationship({label}) loads lazily",
                                                   'declare both sides with back_populates and lazy="selectin"'))
                elif keyword.arg == "lazy" and (
                    (isinstance(value, ast.Constant) and value.value in ("select", "dynamic", True))
                ):
                    self.blockers.append(self.site(
                        node, LAZY, f"relationship({label}) loads lazily, which raises MissingGreenlet under AsyncSession",
                        'use lazy="selectin", selectinload() in the queries, or AsyncAttrs',
                    ))

    def clashes(self) -> None:
        """A name a rewrite imports, bound to something else at module level."""
        bound: Dict[str, Tuple[ast.AST, Optional[str]]] = {}
        for statement in self.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.setdefault(statement.name, (statement, None))
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            bound.setdefault(name.id, (statement, None))
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    local = alias.asname or alias.name.split(".")[0]
                    bound.setdefault(local, (statement, alias.name if alias.asname else local))
            elif isinstance(statement, ast.ImportFrom):
                for alias in statement.names:
                    origin = f"{statement.module}.{alias.name}" if not statement.level else None
                    bound.setdefault(alias.asname or alias.name, (statement, origin))
        for name, where in self.needs.items():
            if name in bound and bound[name][1] not in WANTED_NAMES[name]:
                statement = bound[name][0]
                self.blockers.append(self.site(
                    statement, CLASH, f"`{name}` is bound to something else here; the async code needs it",
                    f"rename the local `{name}`, then rerun asyncfix",
                ))


def _first_or(call: ast.Call, keyword: str) -> Optional[ast.AST]:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _has_params(function: ast.AST) -> bool:
    args = function.args  # type: ignore[attr-defined]
    return bool(args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg)


def _try_yield_close(statement: ast.AST, variable: str) -> bool:
    """``try: yield db`` / ``finally: db.close()`` (or ``await db.close()``)."""
    if not isinstance(statement, ast.Try) or statement.handlers or statement.orelse:
        return False
    body, final = statement.body, statement.finalbody
    if not (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Yield)):
        return False
    if not (isinstance(body[0].value.value, ast.Name) and body[0].value.value.id == variable):
        return False
    if len(final) != 1 or not isinstance(final[0], ast.Expr):
        return False
    value = final[0].value
    if isinstance(value, ast.Await):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and not value.args
        and not value.keywords
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "close"
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id == variable
    )


def _own(function: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's own body (not of nested defs, lambdas or classes)."""
    stack = list(function.body) if not isinstance(function, ast.Lambda) else [function.body]  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        yield node
        for child in iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)


def _local_names(function: ast.AST) -> Set[str]:
    args = function.args  # type: ignore[attr-defined]
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for node in _own(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _session_method(node: ast.AST, name: str) -> Optional[str]:
    """``name.method(...)``: the method."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == name
    ):
        return node.func.attr
    return None


def _entity(node: ast.AST) -> bool:
    """``User`` / ``models.User`` (a mapped class), as _looks_like_entity."""
    if isinstance(node, ast.Name):
        return node.id[:1].isupper()
    if isinstance(node, ast.Attribute):
        return node.attr[:1].isupper() and not _entity(node.value)
    return False


def _passed(calls: Iterable[ast.Call]) -> Set[str]:
    """Names handed to other code as values (callbacks), outside FastAPI's async-aware slots."""
    names: Set[str] = set()
    for node in calls:
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee in ASYNC_AWARE:
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(argument, ast.Name):
                names.add(argument.id)
            elif isinstance(argument, ast.Attribute):
                names.add(argument.attr)
    return names


def _collect(tree: ast.Module, path: str, source: bytes) -> Optional[FileFacts]:
    scan = _Scan(tree, path, source)
    defs = _Defs(scan.imports)
    defs.visit(tree)
    scan.meets_async = False
    shared = scan.shared()
    scan.maybe_factories = {s.name for s in shared if s.kind == FACTORY} | {
        attribute for _, _, attribute in scan.project_imports.values() if attribute
    }
    candidates = {s.name for s in shared} | {
        local for local, (_, _, attribute) in scan.project_imports.items() if attribute
    }
    uses = scan.uses(candidates)
    passed = _passed(scan.calls)
    for qualname, function, sessions in defs.nodes:
        if sessions or isinstance(function, ast.AsyncFunctionDef):
            scan.session_function(qualname, function, sessions, passed)
    scan.relationships()
    scan.clashes()
    factories = tuple(s.name for s in shared if s.kind == FACTORY)
    if not (defs.found or shared or uses or scan.blockers or scan.residual or scan.meets_async):
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
    )


class _Resolver:
    """Which shared object a use refers to, across the project's modules."""

    def __init__(self, facts: Mapping[str, FileFacts], root: str) -> None:
        self.facts = facts
        self.root = root
        self.modules: Dict[str, str] = {}
        for path in facts:
            for name in module_names(path, root):
                self.modules.setdefault(name, path)
        self.shared = {(path, s.name): s for path, fact in facts.items() for s in getattr(fact, "shared", ())}
        self.imports = {path: {i[0]: i[1:] for i in getattr(fact, "imports", ())} for path, fact in facts.items()}

    def module(self, importer: str, level: int, module: str) -> Optional[str]:
        if level:
            package = package_of(importer, self.root)
            if package is None:
                return None
            name = absolute(package, level, module)
        else:
            name = module
        return self.modules.get(name) if name else None

    def resolve(self, path: str, ref: str, depth: int = 0) -> Tuple[Optional[Tuple[str, str]], str]:
        """(the shared object, the attribute path left over) that ``ref`` in ``path`` names."""
        head, _, rest = ref.partition(".")
        if (path, head) in self.shared:
            return (path, head), rest
        origin = self.imports.get(path, {}).get(head)
        if origin is None or depth > 8:
            return None, ""
        level, module, attribute = origin
        if attribute:
            target = self.module(path, level, module)
            if target is not None:
                found, left = self.resolve(target, attribute, depth + 1)
                if found is not None:
                    return found, ".".join(p for p in (left, rest) if p)
            submodule = self.module(path, level, f"{module}.{attribute}" if module else attribute)
            if submodule is not None and rest:
                return self.resolve_in(submodule, rest, depth + 1)
            return None, ""
        parts = [*module.split("."), *rest.split(".")] if rest else module.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = self.modules.get(".".join(parts[:cut]))
            if target is not None:
                return self.resolve_in(target, ".".join(parts[cut:]), depth + 1)
        return None, ""

    def resolve_in(self, path: str, dotted: str, depth: int) -> Tuple[Optional[Tuple[str, str]], str]:
        head, _, rest = dotted.partition(".")
        if (path, head) in self.shared:
            return (path, head), rest
        found, left = self.resolve(path, head, depth)
        return (found, ".".join(p for p in (left, rest) if p)) if found is not None else (None, "")


# -- helpers for the transform -------------------------------------------------------------------


def _name(node: cst.BaseExpression) -> Optional[str]:
    return node.value if isinstance(node, cst.Name) else None


def _attr_call(receiver: cst.BaseExpression, method: str, args: Sequence[cst.Arg] = ()) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(method)), args=list(args))


def _strip_commas(args: Sequence[cst.Arg]) -> List[cst.Arg]:
    return [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in args]


def _looks_like_entity(node: cst.BaseExpression) -> bool:
    """``User`` / ``models.User`` (a mapped class), not ``User.name`` or ``func.count(...)``."""
    if isinstance(node, cst.Name):
        return node.value[:1].isupper()
    if isinstance(node, cst.Attribute):
        return node.attr.value[:1].isupper() and not _looks_like_entity(node.value)
    return False


def _is_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString))


_JOINEDLOAD = m.Call(func=m.Name("joinedload") | m.Attribute(attr=m.Name("joinedload")))


def _map_scheme(url: str) -> Tuple[Optional[str], Optional[str]]:
    """(the URL with an async driver, the pip package of that driver); (url, driver) when the
    URL is already async; (None, None) when the scheme is unknown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, sep, rest = url.partition(":")
        if not sep:
            return None, None
    if scheme in ASYNC_DRIVERS:
        return url, ASYNC_DRIVERS[scheme]
    if scheme not in DRIVERS:
        return None, None
    new_scheme, package = DRIVERS[scheme]
    return url.replace(scheme, new_scheme, 1), package


class SqlalchemyToAsync(Codemod):
    NAME = "sqlalchemy_to_async"
    DESCRIPTION = "sync SQLAlchemy Session/Query/engine -> AsyncSession/select()/async engine, app-wide"
    NEEDS = (b"sqlalchemy", b"sqlmodel", b"Session")
    ASYNC_ONLY = False
    REQUIRES = ("greenlet",)
    CODES = {
        CHAIN: (
            "A legacy `Query` that asyncfix cannot map to `select()` with the same result: a\n"
            "query kept in a variable or iterated, a method with no `select()` twin, a query in a\n"
            "generator expression. AsyncSession has no `query()`: rewrite it by hand as\n"
            "`(await session.execute(select(...)...)).scalars()...` (table 1 of the docs)."
        ),
        STAYS_SYNC: (
            "A function takes a SQLAlchemy `Session` but cannot become `async def` (a generator,\n"
            "a property, a decorated function, a callback): once the engine and session factory\n"
            "are async it receives an AsyncSession it cannot await. Restructure it by hand."
        ),
        URL: (
            "The engine's URL is not a literal asyncfix can read (settings, environment), or its\n"
            "driver has no known async twin. `create_async_engine` needs an async driver:\n"
            "sqlite+aiosqlite, postgresql+asyncpg, mysql+aiomysql. Check the URL's scheme."
        ),
        DDL: (
            "`metadata.create_all/drop_all` runs at import time on the engine, which is now async\n"
            "and needs a running loop. Move it into the app's lifespan:\n"
            "`async with engine.begin() as conn: await conn.run_sync(Base.metadata.create_all)`."
        ),
        LAZY: (
            "A relationship loads lazily, and a lazy load under AsyncSession raises\n"
            "MissingGreenlet (e.g. a response model that reads `user.items`). Use\n"
            "`lazy=\"selectin\"`, `selectinload(...)` in the query, or `AsyncAttrs` and\n"
            "`await obj.awaitable_attrs.items`."
        ),
        DEPENDENCY: (
            "A session dependency of a shape asyncfix does not convert. Write it as\n"
            "`async def get_db(): async with SessionLocal() as db: yield db`."
        ),
        CLASH: (
            "The name asyncfix would import (`select`, `func`, `update`, `delete`, `text`,\n"
            "`AsyncSession`, `lifespan`, ...) is already bound to something else here. Rename\n"
            "yours, then rerun asyncfix."
        ),
        CLOSURE: (
            "The engine (or session factory) stays sync, and so does everything that shares it:\n"
            "a use of it that asyncfix can see cannot become async in this run (a `with\n"
            "Session(engine)` in a sync function that stays sync, `metadata.create_all(engine)` in\n"
            "one, the engine handed to other code such as alembic or a CLI command, a Session\n"
            "function that cannot become async). Converting the engine without that use would\n"
            "break it, so asyncfix converts nothing. The message names the first such use, the\n"
            "hint all of them (file:line): make them async (or give them their own sync\n"
            "engine), then rerun asyncfix."
        ),
        ASYNC_QUERY: (
            "`.query()` called on an AsyncSession, which has no `query()`: this raises\n"
            "AttributeError at run time. Build a `select()` and `await session.execute(...)`\n"
            "(table 1 of the docs)."
        ),
        SYNC_URL: (
            "`create_async_engine` with a URL naming a sync driver (`sqlite://`, `postgresql://`,\n"
            "`mysql+pymysql://`): it fails when the engine is created. Name an async driver:\n"
            "sqlite+aiosqlite, postgresql+asyncpg (or +psycopg), mysql+aiomysql."
        ),
        SYNC_ON_ASYNC: (
            "A sync `Session(engine)` or `sessionmaker(bind=engine)` on an engine made with\n"
            "`create_async_engine`: it fails on first use. Use `AsyncSession(engine)` /\n"
            "`async_sessionmaker(engine)` and await its calls, or keep a sync engine for this code."
        ),
    }

    # -- first pass ------------------------------------------------------------------------------

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes) -> Any:
        if not any(token in source for token in cls.NEEDS) and b"engine" not in source:
            return None
        return _collect(tree, path, source)

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        """One decision for the whole program: convert when a Session meets async code and
        every use of the engines, session factories and Session functions converts with it;
        otherwise convert nothing and say, on each engine, which uses kept it sync."""
        if not facts:
            return None
        resolver = _Resolver(facts, root)
        meets = any(
            is_async or depends for fact in facts.values() for _, is_async, depends in fact.session_defs
        ) or any(getattr(fact, "meets_async", False) for fact in facts.values())
        blockers: List[Tuple[str, Site]] = []
        reports: Dict[str, List[Site]] = {}
        for path, fact in facts.items():
            blockers.extend((path, site) for site in getattr(fact, "blockers", ()))
            reports.setdefault(path, []).extend(getattr(fact, "residual", ()))
            for use in getattr(fact, "uses", ()):
                key, left = resolver.resolve(path, use.ref)
                if key is None:
                    continue
                shared = resolver.shared[key]
                if shared.kind == ASYNC_ENGINE:
                    if use.sync_session and not left:
                        reports[path].append(replace(
                            use.site, code=SYNC_ON_ASYNC,
                            why=f"a sync Session on `{use.ref}`, an async engine",
                            hint="use AsyncSession(engine) / async_sessionmaker(engine), and await its calls",
                        ))
                    continue
                if left:
                    blockers.append((path, replace(use.site, code=CLOSURE, why=f"`{use.ref}` is used")))
                elif not use.ok:
                    blockers.append((path, use.site))
                elif use.in_coroutine and shared.kind == FACTORY:
                    meets = True
        for (path, _), shared in sorted(resolver.shared.items()):
            if shared.problem is not None and shared.kind != ASYNC_ENGINE:
                blockers.append((path, shared.problem))
        refused = meets and bool(blockers)
        if refused:
            blockers.sort(key=lambda b: (b[0], b[1].line, b[1].column))
            listed = [f"{os.path.relpath(p, root)}:{s.line}: {s.why}" for p, s in blockers]
            hint = "; ".join(listed[:_SEEN_LIMIT]) + (f"; and {len(listed) - _SEEN_LIMIT} more" if len(listed) > _SEEN_LIMIT else "")
            hint += ". Every use must become async in the same run: make them async, then rerun asyncfix"
            targets = [(p, s) for (p, _), s in sorted(resolver.shared.items()) if s.kind == ENGINE]
            targets = targets or [(p, s) for (p, _), s in sorted(resolver.shared.items()) if s.kind == FACTORY]
            for path, shared in targets:
                what = "engine" if shared.kind == ENGINE else "session factory"
                more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
                reports[path].append(replace(
                    shared.site, why=f"the {what} `{shared.name}` stays sync: {listed[0]}{more}", hint=hint,
                ))
            for path, site in blockers:
                if site.code != CLOSURE or not targets:
                    reports[path].append(site)
        seeds = tuple(
            (path, qualname)
            for path, fact in facts.items()
            for qualname, is_async, _ in fact.session_defs
            if not is_async
        )
        factories = frozenset(name for fact in facts.values() for name in fact.factories)
        kept = {
            path: tuple(sorted(set(sites), key=lambda s: (s.line, s.column, s.code)))
            for path, sites in reports.items()
            if sites
        }
        return Combined(meets and not refused, seeds, factories, refused, kept)

    @classmethod
    def async_seeds(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        return combined.seeds if combined is not None and combined.converting else ()

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Any = None) -> bool:
        combined = project.get(cls.NAME) if project is not None else None
        if combined is None or not combined.converting:
            return False
        return any(token in source for token in cls.NEEDS)

    @classmethod
    def reports_unparsed(cls, path: str, project: Any) -> bool:
        combined = project.get(cls.NAME) if project is not None else None
        return combined is not None and bool((combined.reports or {}).get(path))

    @classmethod
    def report_unparsed(cls, file: Any) -> None:
        combined = file.project.get(cls.NAME)
        for site in (combined.reports or {}).get(file.filename, ()) if combined is not None else ():
            names = file.ignores.get(site.line, frozenset()) if file.ignores else frozenset()
            if site.line in (file.ignores or {}) and (names is None or cls.NAME in names):
                continue
            file.diagnostics.append(Diagnostic(file.path, site.line, site.column, site.code, site.why, site.hint, cls.NAME))

    # -- per file --------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._combined: Combined = self.file.project.get(self.NAME)
        self._sessions: Dict[int, Dict[str, str]] = {}  # id(def) -> session name -> "sqlalchemy"/"sqlmodel"
        self._consumed: Set[int] = set()  # ids of `s.query(...)` calls a terminal rewrites
        self._module = node
        self._url_names = self._engine_url_names(node)
        type(self).report_unparsed(self.file)  # what the first pass decided to say here

    # Which names in a function are sessions

    def _session_kind(self, annotation: Optional[cst.Annotation]) -> Optional[str]:
        if annotation is None:
            return None
        name = self.imported_name(annotation.annotation)
        if name in SESSION_CLASSES:
            return name.split(".")[0]
        return None

    def _session_names(self, function: cst.FunctionDef) -> Dict[str, str]:
        key = id(function)
        if key not in self._sessions:
            names: Dict[str, str] = {}
            params = function.params
            for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
                kind = self._session_kind(param.annotation)
                if kind:
                    names[param.name.value] = kind
            if function.asynchronous is not None:  # `with Session(engine) as s:` in a coroutine
                for block in _own_withs(function.body):
                    session = self._with_session(block)
                    if session is not None:
                        names[session[0]] = session[1]
            self._sessions[key] = names
        return self._sessions[key]

    def _session_of(self, call: cst.Call, receiver: cst.BaseExpression) -> Tuple[Optional[str], Any]:
        """(kind, coroutine) when ``receiver`` is a Session parameter of the coroutine
        evaluating ``call``."""
        name = _name(receiver)
        if name is None:
            return None, None
        function = self.coroutine_of(call)
        if function is GENEXP:
            scope = self.get_metadata(ScopeProvider, call, None)
            while scope is not None and not isinstance(scope.node, cst.FunctionDef):
                scope = getattr(scope, "parent", None)
            if scope is not None and name in self._session_names(scope.node):
                return self._session_names(scope.node)[name], GENEXP
            return None, None
        if function is None:
            return None, None
        kind = self._session_names(function).get(name)
        return kind, function

    # Name availability

    def _bound_otherwise(self, node: cst.CSTNode, name: str, wanted: Iterable[str]) -> bool:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return True
        if not scope[name]:
            return False
        qualified = scope.get_qualified_names_for(name)
        return not qualified or any(
            q.source is not QualifiedNameSource.IMPORT or q.name not in wanted for q in qualified
        )

    def _use(self, node: cst.CSTNode, module: str, name: str, also: Iterable[str] = ()) -> bool:
        """Import ``name`` from ``module`` for code at ``node``; False (reported) on a clash."""
        if self._bound_otherwise(node, name, {f"{module}.{name}", *also}):
            self.report(node, CLASH, f"`{name}` is bound to something else here; cannot import `{module}.{name}`",
                        f"rename the local `{name}`, then rerun asyncfix")
            return False
        self.add_needed_import(module, name)
        return True

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
            if method == "query" and isinstance(receiver, cst.Name):
                return receiver, node, list(reversed(steps))
            steps.append((method, node))
            node = receiver
        return None

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            method = func.attr.value
            kind, function = self._session_of(original, func.value)
            if kind is not None:
                if method == "query":
                    if id(original) not in self._consumed:
                        self.report(original, CHAIN, "a `Query` that is not finished by first/one/all/... in one expression",
                                    "AsyncSession has no query(): build a select() and await session.execute(...)")
                    return updated
                if function is GENEXP:
                    if method in AWAITED_METHODS or method == "exec":
                        self.report(original, CHAIN, f"`{func.value.value}.{method}()` inside a generator expression cannot be awaited",
                                    "use a loop or a list comprehension")
                    return updated
                if method in AWAITED_METHODS or (method == "exec" and kind == "sqlmodel"):
                    return self._await_session_call(original, updated, method)
                return updated
        chain = self._chain(original)
        if chain is not None and chain[2] and chain[2][-1][0] in TERMINALS:
            kind, function = self._session_of(original, chain[0])
            if kind is None:
                return updated
            if function is GENEXP:
                self.report(original, CHAIN, "a session query inside a generator expression cannot be awaited",
                            "use a loop or a list comprehension")
                return updated
            new = self._rewrite_query(original, updated, kind)
            return updated if new is None else new
        return self._setup_call(original, updated)

    def _await_session_call(self, original: cst.Call, updated: cst.Call, method: str) -> cst.BaseExpression:
        if method in ("execute", "scalars", "scalar") and updated.args and _is_string(updated.args[0].value):
            if not self._use(original, "sqlalchemy", "text"):
                return updated
            first = updated.args[0]
            wrapped = first.with_changes(value=cst.Call(func=cst.Name("text"), args=[cst.Arg(first.value)]))
            updated = updated.with_changes(args=[wrapped, *updated.args[1:]])
        self.rewrote()
        return awaited(updated)

    # -- `with Session(engine) as s:` in a coroutine -> `async with AsyncSession(...)` ----------

    def _with_session(self, block: cst.With) -> Optional[Tuple[str, str]]:
        """(variable, kind) of ``with Session(e) as s`` / ``with Factory() as s`` (one item)."""
        if block.asynchronous is not None or len(block.items) != 1:
            return None
        item = block.items[0]
        if item.asname is None or not isinstance(item.asname.name, cst.Name) or not isinstance(item.item, cst.Call):
            return None
        call = item.item
        name = self.imported_name(call.func)
        if name in SESSION_CLASSES:
            return item.asname.name.value, name.split(".")[0]
        last = call.func.attr.value if isinstance(call.func, cst.Attribute) else _name(call.func)
        if not call.args and last in self._combined.factories:
            return item.asname.name.value, "sqlalchemy"
        return None

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement:
        session = self._with_session(original)
        scope = self.get_metadata(ScopeProvider, original, None)
        function = getattr(scope, "node", None)
        if session is None or not isinstance(function, cst.FunctionDef) or function.asynchronous is None:
            return updated
        if self.ignored(original):
            return updated
        original_call = original.items[0].item
        call = updated.items[0].item
        if self.imported_name(original_call.func) in SESSION_CLASSES:
            if not self._use(original_call, ASYNC_SESSION_MODULE[session[1]], "AsyncSession"):
                return updated
            self.drop_import_if_unused(original_call.func)
            args = list(call.args)
            if not any(a.keyword is not None and a.keyword.value == "expire_on_commit" for a in args):
                args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
            call = call.with_changes(func=cst.Name("AsyncSession"), args=_fix_commas(args, _trailing(call.args)))
        self.rewrote()
        return updated.with_changes(
            items=[updated.items[0].with_changes(item=call)], asynchronous=cst.Asynchronous()
        )

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        """``X.metadata.create_all(engine)`` in a coroutine -> ``async with engine.begin() as
        conn: await conn.run_sync(X.metadata.create_all)``."""
        ddl = self._ddl_call(original)
        if ddl is None:
            return updated
        scope = self.get_metadata(ScopeProvider, original, None)
        function = getattr(scope, "node", None)
        if not isinstance(function, cst.FunctionDef) or function.asynchronous is None or self.ignored(original):
            return updated
        metadata, method, engine = ddl
        code = self._module.code_for_node
        block = cst.parse_statement(
            f"async with {code(engine)}.begin() as conn:\n    await conn.run_sync({code(metadata)}.{method})\n"
        )
        self.rewrote()
        return block.with_changes(leading_lines=updated.leading_lines)

    # -- queries -------------------------------------------------------------------------------

    def _rewrite_query(self, original: cst.Call, updated: cst.Call, kind: str) -> Optional[cst.BaseExpression]:
        receiver, query, steps = self._chain(updated)
        terminal, last = steps[-1]
        middle = steps[:-1]
        entities = list(query.args)
        if not entities or any(a.keyword is not None or a.star for a in entities):
            self.report(original, CHAIN, "a `Query` over keyword or starred arguments", "rewrite it with select() by hand")
            return None
        columns_only = False
        for method, _ in middle:
            if method == "with_entities":
                columns_only = True
            elif method not in SAME_ON_SELECT:
                self.report(original, CHAIN, f"`Query.{method}()` has no select() twin asyncfix knows",
                            "rewrite the query with select() by hand")
                return None
        single_entity = len(entities) == 1 and not columns_only and _looks_like_entity(entities[0].value)
        joined = any(m.findall(call, _JOINEDLOAD) for method, call in middle if method == "options")
        session = receiver

        def execute(statement: cst.BaseExpression) -> cst.BaseExpression:
            result: cst.BaseExpression = awaited(_attr_call(session, "execute", [cst.Arg(statement)]))
            return _attr_call(result, "unique") if joined else result

        select_module = "sqlmodel" if kind == "sqlmodel" else "sqlalchemy"
        if terminal in ("update", "delete"):
            return self._rewrite_dml(original, session, entities, middle, terminal, last, single_entity)
        if terminal == "get":
            if any(method != "options" for method, _ in middle) or not single_entity:
                self.report(original, CHAIN, "`Query.get()` after filters or on several entities",
                            "use `await session.get(Model, pk)`")
                return None
            args = [cst.Arg(entities[0].value), *_strip_commas(last.args)]
            options = [a for _, call in middle for a in call.args]
            if options:
                args.append(cst.Arg(keyword=cst.Name("options"), value=cst.List([cst.Element(a.value) for a in options])))
            self.rewrote()
            return awaited(_attr_call(session, "get", args))
        if not self._use(original, select_module, "select", {"sqlalchemy.select", "sqlmodel.select", "sqlalchemy.sql.select"}):
            return None
        statement: cst.BaseExpression = cst.Call(func=cst.Name("select"), args=_strip_commas(entities))
        for method, call in middle:
            name = "with_only_columns" if method == "with_entities" else method
            statement = _attr_call(statement, name, call.args)
        if last.args:
            self.report(original, CHAIN, f"`Query.{terminal}()` with arguments", "rewrite it by hand")
            return None
        self.rewrote()
        if terminal == "count":
            if not self._use(original, "sqlalchemy", "func"):
                return None
            source = entities[0].value if single_entity and not middle else _attr_call(statement, "subquery")
            counted = _attr_call(cst.Call(func=cst.Name("select"), args=[cst.Arg(_attr_call(cst.Name("func"), "count"))]),
                                 "select_from", [cst.Arg(source)])
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
            result = execute(_attr_call(statement, "limit", [cst.Arg(cst.Integer("1"))]))
            return _attr_call(_attr_call(result, "scalars"), "first") if single_entity else _attr_call(result, "first")
        if terminal in ("one", "one_or_none"):
            result = execute(statement)
            return _attr_call(result, f"scalar_{terminal}") if single_entity else _attr_call(result, terminal)
        result = execute(statement)  # all
        return _attr_call(_attr_call(result, "scalars"), "all") if single_entity else _attr_call(result, "all")

    def _rewrite_dml(self, original, session, entities, middle, terminal, last, single_entity):
        if not single_entity or any(method not in ("filter", "filter_by", "where") for method, _ in middle):
            self.report(original, CHAIN, f"bulk `Query.{terminal}()` after joins/limits or on several entities",
                        f"use `await session.execute({terminal}(Model).where(...))`")
            return None
        values = [a for a in last.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in last.args if a.keyword is not None}
        if set(keywords) - {"synchronize_session", "values"} or len(values) > (1 if terminal == "update" else 0):
            self.report(original, CHAIN, f"`Query.{terminal}()` with arguments asyncfix does not map",
                        f"use `await session.execute({terminal}(Model).where(...))`")
            return None
        if not self._use(original, "sqlalchemy", terminal):
            return None
        statement: cst.BaseExpression = cst.Call(func=cst.Name(terminal), args=[cst.Arg(entities[0].value)])
        for method, call in middle:
            statement = _attr_call(statement, "filter_by" if method == "filter_by" else "where", call.args)
        if terminal == "update":
            value = values[0].value if values else keywords["values"].value
            statement = _attr_call(statement, "values", [cst.Arg(value)])
        if "synchronize_session" in keywords:
            statement = _attr_call(statement, "execution_options",
                                   [keywords["synchronize_session"].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        self.rewrote()
        return cst.Attribute(value=awaited(_attr_call(session, "execute", [cst.Arg(statement)])), attr=cst.Name("rowcount"))

    # -- setup: engine, session factory, relationships ---------------------------------------

    def _engine_url_names(self, module: cst.Module) -> Set[str]:
        names: Set[str] = set()
        for call in m.findall(module, m.Call(func=m.Name("create_engine") | m.Attribute(attr=m.Name("create_engine")))):
            if self.imported_name(call.func) in CREATE_ENGINE:
                url = self._url_arg(call)
                if url is not None and isinstance(url.value, cst.Name):
                    names.add(url.value.value)
        strings = {
            statement.body[0].targets[0].target.value
            for statement in module.body
            if m.matches(statement, m.SimpleStatementLine(body=[m.Assign(
                targets=[m.AssignTarget(target=m.Name())],
                value=m.SimpleString() | m.ConcatenatedString() | m.FormattedString(),
            )]))
        }
        return names & strings

    @staticmethod
    def _url_arg(call: cst.Call) -> Optional[cst.Arg]:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "url":
                return arg
        first = call.args[0] if call.args else None
        return first if first is not None and first.keyword is None and not first.star else None

    def _mapped_string(self, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        """The URL literal with its driver made async (requirement recorded); None if unknown."""
        if isinstance(node, cst.SimpleString):
            url, package = _map_scheme(node.evaluated_value if isinstance(node.evaluated_value, str) else "")
            if url is None:
                return None
            self.require(package)
            prefix = node.prefix
            quote = node.quote
            return node.with_changes(value=f"{prefix}{quote}{url}{quote}") if url != node.evaluated_value else node
        if isinstance(node, cst.FormattedString) and node.parts and isinstance(node.parts[0], cst.FormattedStringText):
            text = node.parts[0].value
            url, package = _map_scheme(text)
            if url is None:
                return None
            self.require(package)
            return node.with_changes(parts=[node.parts[0].with_changes(value=url), *node.parts[1:]])
        return None

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if (
            len(original.targets) == 1
            and isinstance(original.targets[0].target, cst.Name)
            and original.targets[0].target.value in self._url_names
            and isinstance(self.get_metadata(ScopeProvider, original.targets[0].target, None), GlobalScope)
        ):
            mapped = self._mapped_string(updated.value)
            if mapped is None:
                self.report(original, URL, "the engine URL's driver has no known async twin",
                            "use sqlite+aiosqlite, postgresql+asyncpg or mysql+aiomysql")
            elif mapped is not updated.value:
                self.rewrote()
                return updated.with_changes(value=mapped)
        return updated

    def _setup_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = self.imported_name(original.func) if isinstance(original.func, (cst.Name, cst.Attribute)) else None
        if name in CREATE_ENGINE:
            return self._engine(original, updated)
        if name in SESSIONMAKERS:
            return self._sessionmaker(original, updated)
        if name in RELATIONSHIP:
            return self._relationship(original, updated)
        return updated

    def _engine(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        url = self._url_arg(updated)
        args = list(updated.args)
        if url is None:
            self.report(original, URL, "create_engine() without a URL asyncfix can see", "pass the URL first")
            return updated
        if not (isinstance(url.value, cst.Name) and url.value.value in self._url_names):
            mapped = self._mapped_string(url.value)
            if mapped is None and self._sqlite_evidence(updated):
                # A URL from settings: its driver is set where it is used, at run time.
                if not self._use(original, "sqlalchemy.engine", "make_url", WANTED_NAMES["make_url"]):
                    return updated
                self.require("aiosqlite")
                mapped = cst.parse_expression('make_url(x).set(drivername="sqlite+aiosqlite")')
                mapped = mapped.with_changes(func=mapped.func.with_changes(
                    value=mapped.func.value.with_changes(args=[cst.Arg(url.value)])
                ))
            if mapped is None:
                self.report(original, URL, "the engine URL is not a literal with a known driver",
                            "make sure it names an async driver (sqlite+aiosqlite, postgresql+asyncpg, mysql+aiomysql)")
                return updated
            args[args.index(url)] = url.with_changes(value=mapped)
        if not self._use(original, "sqlalchemy.ext.asyncio", "create_async_engine"):
            return updated
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return updated.with_changes(func=cst.Name("create_async_engine"), args=args)

    @staticmethod
    def _sqlite_evidence(call: cst.Call) -> bool:
        """``connect_args={"check_same_thread": False}``: only SQLite's driver takes it."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "connect_args" and isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    key = getattr(element, "key", None)
                    if isinstance(key, cst.SimpleString) and key.evaluated_value == "check_same_thread":
                        return True
        return False

    def _sessionmaker(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args: List[cst.Arg] = []
        has_expire = False
        for arg in updated.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "autocommit":
                if not m.matches(arg.value, m.Name("False")):
                    self.report(original, DEPENDENCY, "sessionmaker(autocommit=...) has no async twin",
                                "drop autocommit and use explicit transactions")
                    return updated
                continue
            if keyword == "class_":
                continue
            if keyword == "expire_on_commit":
                has_expire = True
            args.append(arg)
        if not has_expire:
            args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
        if not self._use(original, "sqlalchemy.ext.asyncio", "async_sessionmaker"):
            return updated
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return updated.with_changes(func=cst.Name("async_sessionmaker"), args=_fix_commas(args, _trailing(updated.args)))

    def _relationship(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        keywords = {a.keyword.value: a for a in updated.args if a.keyword is not None}
        target = original.args[0].value if original.args else None
        label = cst.Module([]).code_for_node(target) if target is not None else "relationship"
        if "backref" in keywords:
            self.report(original, LAZY, f"the backref of relationship({label}) loads lazily",
                        "declare both sides with back_populates and lazy=\"selectin\"")
        lazy = keywords.get("lazy")
        if lazy is None:
            self.rewrote()
            return updated.with_changes(
                args=_fix_commas(
                    [*updated.args, cst.Arg(keyword=cst.Name("lazy"), value=cst.SimpleString('"selectin"'))],
                    _trailing(updated.args),
                )
            )
        if m.matches(lazy.value, m.SimpleString('"select"') | m.SimpleString("'select'") | m.Name("True")
                     | m.SimpleString('"dynamic"') | m.SimpleString("'dynamic'")):
            self.report(original, LAZY, f"relationship({label}) loads lazily, which raises MissingGreenlet under AsyncSession",
                        "use lazy=\"selectin\", selectinload() in the queries, or AsyncAttrs")
        return updated

    # -- functions: annotations, the dependency, seeds that stayed sync ----------------------

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.BaseStatement:
        sessions = self._session_names(original)
        if sessions:
            if not self.is_async_def(original):
                self.report(original.name, STAYS_SYNC, f"`{original.name.value}` takes a Session but cannot become async",
                            "restructure it so that it can be `async def`")
                return updated
            return self._annotations(original, updated)
        dependency = self._dependency(original, updated)
        return updated if dependency is None else dependency

    def _annotations(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        new_params = []
        changed = False
        for old, new in zip(original.params.params, updated.params.params):
            kind = self._session_kind(old.annotation)
            if kind is None:
                new_params.append(new)
                continue
            module = ASYNC_SESSION_MODULE[kind]
            if not self._use(old, module, "AsyncSession"):
                new_params.append(new)
                continue
            self.drop_import_if_unused(old.annotation.annotation)
            new_params.append(new.with_changes(annotation=cst.Annotation(cst.Name("AsyncSession"))))
            changed = True
        kwonly = []
        for old, new in zip(original.params.kwonly_params, updated.params.kwonly_params):
            kind = self._session_kind(old.annotation)
            if kind is not None and self._use(old, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
                self.drop_import_if_unused(old.annotation.annotation)
                new = new.with_changes(annotation=cst.Annotation(cst.Name("AsyncSession")))
                changed = True
            kwonly.append(new)
        if not changed:
            return updated
        self.rewrote()
        return updated.with_changes(params=updated.params.with_changes(params=new_params, kwonly_params=kwonly))

    def _dependency(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> Optional[cst.FunctionDef]:
        """``db = F(); try: yield db; finally: db.close()`` (F a session factory) ->
        ``async with F() as db: yield db``."""
        body = updated.body.body if isinstance(updated.body, cst.IndentedBlock) else ()
        if original.params.params or original.returns is not None:
            return None
        if len(body) == 1 and isinstance(body[0], cst.With):
            return self._with_dependency(original, updated, body[0])
        if len(body) != 2:
            return None
        first, second = body
        create = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(target=m.Name())], value=m.Call(func=m.Name(), args=()))])
        if not m.matches(first, create) or not isinstance(second, cst.Try):
            return None
        assign = first.body[0]
        variable = assign.targets[0].target.value
        factory = assign.value.func.value
        if factory not in self._combined.factories:
            return None
        shape = m.Try(
            body=m.IndentedBlock(body=[m.SimpleStatementLine(body=[m.Expr(m.Yield(value=m.Name(variable)))])]),
            handlers=(),
            orelse=None,
            finalbody=m.Finally(body=m.IndentedBlock(body=[m.SimpleStatementLine(body=[
                m.Expr(_attr_call_matcher(variable, "close") | m.Await(_attr_call_matcher(variable, "close")))
            ])])),
        )
        if not m.matches(second, shape):
            self.report(original.name, DEPENDENCY, f"session dependency `{original.name.value}` has a shape asyncfix does not convert",
                        "write it as `async with SessionLocal() as db: yield db`")
            return None
        block = cst.With(
            items=[cst.WithItem(item=assign.value, asname=cst.AsName(name=cst.Name(variable)))],
            body=second.body,
            asynchronous=cst.Asynchronous(),
            leading_lines=first.leading_lines,
        )
        self.rewrote()
        return updated.with_changes(
            asynchronous=cst.Asynchronous(), body=updated.body.with_changes(body=[block])
        )

    def _with_dependency(self, original: cst.FunctionDef, updated: cst.FunctionDef, block: cst.With):
        """``with F() as db: yield db`` / ``with Session(engine) as db: yield db`` -> ``async with``
        (``AsyncSession(engine, expire_on_commit=False)`` for the Session class)."""
        shape = m.With(
            items=[m.WithItem(item=m.Call(func=m.Name()), asname=m.AsName(name=m.Name()))],
            body=m.IndentedBlock(body=[m.SimpleStatementLine(body=[m.Expr(m.Yield(value=m.Name()))])]),
        )
        if not m.matches(block, shape):
            return None
        item = block.items[0]
        variable = item.asname.name.value
        if block.body.body[0].body[0].value.value.value != variable:
            return None
        call = item.item
        original_call = original.body.body[0].items[0].item
        name = self.imported_name(original_call.func)
        if name in SESSION_CLASSES:
            kind = name.split(".")[0]
            if not self._use(original_call, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
                return None
            self.drop_import_if_unused(original_call.func)
            args = list(call.args)
            if not any(a.keyword is not None and a.keyword.value == "expire_on_commit" for a in args):
                args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
            call = call.with_changes(func=cst.Name("AsyncSession"), args=_fix_commas(args, _trailing(call.args)))
        elif call.args or call.func.value not in self._combined.factories:
            return None
        self.rewrote()
        new_block = block.with_changes(
            items=[item.with_changes(item=call)], asynchronous=cst.Asynchronous()
        )
        return updated.with_changes(asynchronous=cst.Asynchronous(), body=updated.body.with_changes(body=[new_block]))

    # -- module-level create_all -> lifespan / asyncio.run -------------------------------------

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if len(original.body) != len(updated.body):
            return updated
        ddl: List[int] = []
        app_index: Optional[int] = None
        for index, statement in enumerate(original.body):
            if self._ddl_call(statement) is not None:
                ddl.append(index)
            elif app_index is None and self._app_call(statement) is not None:
                app_index = index
        if not ddl:
            return updated
        body = list(updated.body)
        if app_index is not None:
            return self._into_lifespan(original, updated, body, ddl, app_index)
        if _is_test_module(self.file.filename):
            return self._into_asyncio_run(original, updated, body, ddl)
        for index in ddl:
            self.report(original.body[index], DDL, "metadata DDL at import time needs a running loop once the engine is async",
                        "move it into the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`")
        return updated

    def _ddl_call(self, statement: cst.CSTNode) -> Optional[Tuple[cst.BaseExpression, str, cst.BaseExpression]]:
        """(metadata expression, create_all/drop_all, engine) of ``X.metadata.create_all(bind=e)``."""
        pattern = m.SimpleStatementLine(body=[m.Expr(m.Call(func=m.Attribute(
            value=m.Attribute(attr=m.Name("metadata")), attr=m.Name("create_all") | m.Name("drop_all"))))])
        if not m.matches(statement, pattern):
            return None
        call = statement.body[0].value
        engine = None
        if len(call.args) == 1:
            arg = call.args[0]
            if arg.keyword is None or arg.keyword.value == "bind":
                engine = arg.value
        if engine is None:
            return None
        return call.func.value, call.func.attr.value, engine

    def _app_call(self, statement: cst.CSTNode) -> Optional[cst.Call]:
        if m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())])):
            call = statement.body[0].value
            if self.imported_name(call.func) == "fastapi.FastAPI":
                return call
        return None

    def _ddl_block(self, original: cst.Module, ddl: Sequence[int]) -> List[cst.BaseStatement]:
        code = original.code_for_node
        groups: Dict[str, List[str]] = {}
        for index in ddl:
            metadata, method, engine = self._ddl_call(original.body[index])
            groups.setdefault(code(engine), []).append(f"await conn.run_sync({code(metadata)}.{method})")
        lines: List[str] = []
        for engine, calls in groups.items():
            lines.append(f"async with {engine}.begin() as conn:\n" + "".join(f"    {c}\n" for c in calls))
        return [cst.parse_statement(text) for text in lines]

    def _into_lifespan(self, original, updated, body, ddl, app_index):
        app_statement = original.body[app_index]
        call = app_statement.body[0].value
        if any(a.keyword is not None and a.keyword.value in ("lifespan", "on_startup") for a in call.args) or (
            "on_event" in self.file.source
        ):
            for index in ddl:
                self.report(original.body[index], DDL, "metadata DDL at import time, and the app already has startup code",
                            "run it in the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`")
            return updated
        if self._bound_otherwise(app_statement, "lifespan", {"lifespan"}):
            self.report(app_statement, CLASH, "`lifespan` is already bound in this module", "rename it, then rerun asyncfix")
            return updated
        self.add_needed_import("contextlib", "asynccontextmanager")
        function = cst.parse_statement("@asynccontextmanager\nasync def lifespan(app):\n    yield\n")
        comments = [line for index in ddl for line in original.body[index].leading_lines if line.comment]
        function = function.with_changes(
            params=function.params.with_changes(params=[cst.Param(cst.Name("app"), annotation=cst.Annotation(call.func))]),
            body=cst.IndentedBlock(body=[*self._ddl_block(original, ddl), cst.parse_statement("yield\n")]),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments],
        )
        new_call = updated.body[app_index].body[0].value
        new_call = new_call.with_changes(args=_fix_commas(
            [*new_call.args, cst.Arg(keyword=cst.Name("lifespan"), value=cst.Name("lifespan"))], _trailing(new_call.args)
        ))
        app_line = updated.body[app_index]
        app_line = app_line.with_changes(
            body=[app_line.body[0].with_changes(value=new_call)],
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        result = []
        for index, statement in enumerate(body):
            if index in ddl:
                continue
            if index == app_index:
                result.extend([function, app_line])
                continue
            result.append(statement)
        self.rewrote(len(ddl))
        return updated.with_changes(body=result)

    def _into_asyncio_run(self, original, updated, body, ddl):
        name = "create_tables"
        if self._bound_otherwise(original.body[ddl[0]], name, ()):
            self.report(original.body[ddl[0]], CLASH, f"`{name}` is already bound in this module", "rename it, then rerun asyncfix")
            return updated
        self.add_needed_import("asyncio")
        function = cst.parse_statement(f"async def {name}():\n    pass\n")
        function = function.with_changes(
            body=cst.IndentedBlock(body=self._ddl_block(original, ddl)),
            leading_lines=[*original.body[ddl[0]].leading_lines, cst.EmptyLine()] if original.body[ddl[0]].leading_lines else [cst.EmptyLine(), cst.EmptyLine()],
        )
        run = cst.parse_statement(f"asyncio.run({name}())\n").with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        result = []
        for index, statement in enumerate(body):
            if index == ddl[0]:
                result.extend([function, run])
            elif index not in ddl:
                result.append(statement)
        self.rewrote(len(ddl))
        return updated.with_changes(body=result)


def _own_withs(node: cst.CSTNode) -> Iterable[cst.With]:
    """The ``with`` statements of a function body, not of nested defs, lambdas or classes."""
    for child in node.children:
        if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(child, cst.With):
            yield child
        yield from _own_withs(child)


def _attr_call_matcher(variable: str, method: str):
    return m.Call(func=m.Attribute(value=m.Name(variable), attr=m.Name(method)), args=())


def _fix_commas(args: Sequence[cst.Arg], trailing: bool = False) -> List[cst.Arg]:
    """Commas between arguments after some were added or dropped; a trailing comma only where
    the original list had one (black's magic trailing comma)."""
    result = []
    for index, arg in enumerate(args):
        if index == len(args) - 1:
            comma = cst.Comma() if trailing else cst.MaybeSentinel.DEFAULT
        elif isinstance(arg.comma, cst.Comma):
            comma = arg.comma
        else:
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        result.append(arg.with_changes(comma=comma))
    return result


def _trailing(args: Sequence[cst.Arg]) -> bool:
    return bool(args) and isinstance(args[-1].comma, cst.Comma)
