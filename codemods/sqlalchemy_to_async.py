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

from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

import libcst as cst
from libcst.metadata import QualifiedNameSource, ScopeProvider

from .base import Codemod
from .fact_gates import SqlalchemyToAsyncGate
from .sqla_command_split import split_command, with_engine_import
from .sqla_ddl import DdlRewrites
from .sqla_dependencies import DependencyRewrites
from .sqla_double_rewrites import DoubleRewrites
from .sqla_facts import (
    ASYNC_QUERY,
    CHAIN,
    CLASH,
    CLOSURE,
    CLOSURE_TIE,
    DDL,
    DEPENDENCY,
    LAZY,
    STAYS_SYNC,
    SYNC_ON_ASYNC,
    SYNC_URL,
    URL,
    Combined,
)
from .sqla_queries import QueryRewrites
from .sqla_sessions import SessionRewrites
from .sqla_setup import SetupRewrites


class SqlalchemyToAsync(
    QueryRewrites,
    SessionRewrites,
    DependencyRewrites,
    SetupRewrites,
    DoubleRewrites,
    DdlRewrites,
    SqlalchemyToAsyncGate,
    Codemod,
):
    DESCRIPTION = (
        "sync SQLAlchemy Session/Query/engine -> AsyncSession/select()/async engine, app-wide"
    )
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
            '`lazy="selectin"`, `selectinload(...)` in the query, or `AsyncAttrs` and\n'
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

    # -- per file --------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._combined: Combined = self.file.project.get(self.NAME)
        self._sessions: Dict[int, Dict[str, str]] = (
            {}
        )  # id(def) -> session name -> "sqlalchemy"/"sqlmodel"
        self._connection_vars: List[str] = []  # variables of open `with engine.connect()` blocks
        self._holder_inits: Set[int] = set()  # ids of repository __init__s (sqla_holders)
        self._holder_methods: Dict[int, Dict[str, str]] = {}  # id(method) -> self.attr -> kind
        self._holder_classes: Dict[str, Dict[str, str]] = {}  # repository -> self.attr -> kind
        self._consumed: Set[int] = set()  # ids of `s.query(...)` calls a terminal rewrites
        self._variables: Dict[int, Any] = {}  # id(def) -> its queries kept in variables
        self._module = node
        self._engine_imports: Set[Tuple[int, str, str]] = set()  # split commands dispose these
        self._url_names = self._engine_url_names(node)
        self._aliases: Mapping[str, str] = (self._combined.aliases or {}).get(
            self.file.filename, {}
        )
        type(self).report_unparsed(self.file)  # what the first pass decided to say here

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> Union[cst.BaseStatement, cst.FlattenSentinel]:
        result = super().leave_FunctionDef(original, updated)
        if (
            isinstance(result, cst.FunctionDef)
            and result.asynchronous is not None  # AwaitCoroutines, the pass before, made it so
            and (self.file.filename, original.name.value) in self._combined.commands
            and any(statement is original for statement in self._module.body)
        ):  # a typer/click command: stays sync, its body runs in asyncio.run (sqla_commands)
            engine = self._command_engine(original)
            if engine is None:
                return result
            self.add_needed_import("asyncio")
            self.rewrote()
            return split_command(result, engine)
        return result

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        updated = super().leave_Module(original, updated)
        if self.file.rewrites[self.NAME]:
            # Closure or nothing: this file's part of the conversion goes with every other's.
            self.file.needs.add(CLOSURE_TIE)
        for level, module, engine in sorted(self._engine_imports):
            merged = with_engine_import(updated, level, module, engine)
            if merged is None:
                self.add_needed_import(module, engine, relative=level)
            else:
                updated = merged
        return updated

    def _command_engine(self, command: cst.FunctionDef) -> Optional[str]:
        """The name of the engine the split command disposes, imported here if need be: the
        first pass refused every command whose module binds that name otherwise
        (sqla_commands.module_bindings), so the name is free."""
        for path, name, engine, level, module in self._combined.command_engines:
            if (path, name) != (self.file.filename, command.name.value):
                continue
            if level < 0:
                return engine  # bound here, or "": nothing to dispose (aiosqlite)
            self._engine_imports.add((level, module, engine))
            return engine
        return None

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
            self.report(
                node,
                CLASH,
                f"`{name}` is bound to something else here; cannot import `{module}.{name}`",
                f"rename the local `{name}`, then rerun asyncfix",
            )
            return False
        self.add_needed_import(module, name)
        return True
