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

Not rewritten: plain sync SQLAlchemy code in a project where no ``Session`` meets async code
(a script with ``Session(engine)``). Reported instead (SQLA001..SQLA007): query chains it cannot
map (a ``Query`` kept in a variable, unknown methods), ``Session`` functions the machinery cannot
make async, engine URLs whose driver it cannot see, ``create_all`` with no place to run, lazy
relationships it cannot make eager, dependencies of another shape, name clashes.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, QualifiedNameSource, ScopeProvider

from .base import GENEXP, Codemod, awaited
from .project import FastVisitor, dotted_name, walk

CHAIN = "SQLA001"
STAYS_SYNC = "SQLA002"
URL = "SQLA003"
DDL = "SQLA004"
LAZY = "SQLA005"
DEPENDENCY = "SQLA006"
CLASH = "SQLA007"

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


@dataclass(frozen=True)
class FileFacts:
    # (qualname, is_async, the Session comes from Depends(...)) of functions taking a Session
    session_defs: Tuple[Tuple[str, bool, bool], ...]
    factories: Tuple[str, ...]  # module-level names bound to sessionmaker(...)


@dataclass(frozen=True)
class Combined:
    converting: bool  # a Session meets async code somewhere in the project
    seeds: Tuple[Tuple[str, str], ...]
    factories: FrozenSet[str]




def _imports(tree: ast.Module) -> Dict[str, str]:
    names: Dict[str, str] = {}
    for node in walk(tree):
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

    def _def(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> None:
        qualname = ".".join([*self.prefix, node.name])
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults: Dict[str, ast.expr] = dict(zip([a.arg for a in positional][len(positional) - len(args.defaults):], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        takes = depends = False
        for arg in [*positional, *args.kwonlyargs]:
            if _resolve(arg.annotation, self.imports) in SESSION_CLASSES:
                takes = True
                default = defaults.get(arg.arg)
                if isinstance(default, ast.Call) and _resolve(default.func, self.imports) in DEPENDS:
                    depends = True
        if takes:
            self.found.append((qualname, isinstance(node, ast.AsyncFunctionDef), depends))
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
    }

    # -- first pass ------------------------------------------------------------------------------

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes) -> Any:
        if not any(token in source for token in cls.NEEDS):
            return None
        imports = _imports(tree)
        defs = _Defs(imports)
        defs.visit(tree)
        factories = [
            statement.targets[0].id
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and _resolve(statement.value.func, imports) in SESSIONMAKERS
        ]
        if not defs.found and not factories:
            return None
        return FileFacts(tuple(defs.found), tuple(factories))

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        if not facts:
            return None
        converting = any(
            is_async or depends for fact in facts.values() for _, is_async, depends in fact.session_defs
        )
        seeds = tuple(
            (path, qualname)
            for path, fact in facts.items()
            for qualname, is_async, _ in fact.session_defs
            if not is_async
        )
        factories = frozenset(name for fact in facts.values() for name in fact.factories)
        return Combined(converting, seeds, factories)

    @classmethod
    def async_seeds(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        return combined.seeds if combined is not None and combined.converting else ()

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Any = None) -> bool:
        combined = project.get(cls.NAME) if project is not None else None
        if combined is None or not combined.converting:
            return False
        return any(token in source for token in cls.NEEDS)

    # -- per file --------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._combined: Combined = self.file.project.get(self.NAME)
        self._sessions: Dict[int, Dict[str, str]] = {}  # id(def) -> session name -> "sqlalchemy"/"sqlmodel"
        self._consumed: Set[int] = set()  # ids of `s.query(...)` calls a terminal rewrites
        self._module = node
        self._url_names = self._engine_url_names(node)

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
        return names

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
        if not isinstance(url.value, cst.Name):
            mapped = self._mapped_string(url.value)
            if mapped is None:
                self.report(original, URL, "the engine URL is not a literal with a known driver",
                            "make sure it names an async driver (sqlite+aiosqlite, postgresql+asyncpg, mysql+aiomysql)")
            else:
                args[args.index(url)] = url.with_changes(value=mapped)
        if not self._use(original, "sqlalchemy.ext.asyncio", "create_async_engine"):
            return updated
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return updated.with_changes(func=cst.Name("create_async_engine"), args=args)

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
