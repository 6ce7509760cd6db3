"""The SQLAlchemy conversion's shared vocabulary: diagnostic codes, the API names it knows,
the facts the first pass records, and small ast/libcst helpers used by every sqla_* module.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any, FrozenSet, Mapping, Optional, Tuple

from .astwalk import dotted_name
from .coroutine_tables import ASYNC_SESSION_METHODS

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
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
    }
)
SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
CREATE_ENGINE = frozenset(
    {"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine"}
)
RELATIONSHIP = frozenset(
    {"sqlalchemy.orm.relationship", "sqlalchemy.orm.relationships.relationship"}
)
SQLMODEL_RELATIONSHIP = frozenset({"sqlmodel.Relationship", "sqlmodel.main.Relationship"})
ASYNC_SESSION_MODULE = {
    "sqlalchemy": "sqlalchemy.ext.asyncio",
    "sqlmodel": "sqlmodel.ext.asyncio.session",
}
DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends"})

# AsyncSession methods that return awaitables; the others (add, add_all, expunge, ...) stay plain.
AWAITED_METHODS = ASYNC_SESSION_METHODS  # one list: the await machinery reads it too
# Query methods that exist with the same meaning on select().
SAME_ON_SELECT = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "order_by",
        "group_by",
        "having",
        "limit",
        "offset",
        "distinct",
        "join",
        "outerjoin",
        "options",
        "select_from",
        "execution_options",
    }
)
TERMINALS = frozenset(
    {"first", "one", "one_or_none", "scalar", "all", "count", "get", "update", "delete"}
)
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
FIXTURE = "a pytest fixture, which stays sync unless --migrate configures an async runner"
ENGINE_CLASSES = frozenset(
    {"sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine"}
)
ALIAS = "session alias"  # a module-level `SessionDep = Annotated[Session, Depends(get_db)]`
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
# Return annotations of a session dependency -> their async twins.
GENERATOR_RETURNS: Mapping[str, str] = {
    "Generator": "AsyncGenerator",
    "Iterator": "AsyncIterator",
    "Iterable": "AsyncIterable",
}
CREATE_ASYNC_ENGINE = frozenset(
    {
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.create_async_engine",
    }
)
ASYNC_SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
FASTAPI_APP = "fastapi.FastAPI"
# Calls that take a function and await it when it is a coroutine function.
ASYNC_AWARE = frozenset(
    {"Depends", "Security", "add_api_route", "add_route", "add_task", "add_event_handler"}
)
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
    "AsyncEngine": frozenset(
        {"sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine"}
    ),
    "make_url": frozenset(
        {"sqlalchemy.engine.make_url", "sqlalchemy.make_url", "sqlalchemy.engine.url.make_url"}
    ),
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
    url_ref: str = ""  # the dotted name an unreadable engine URL reads (sqla_urls.reference)
    driver: str = ""  # an engine's async driver package ("aiosqlite", "asyncpg"); "" if unknown


@dataclass(frozen=True)
class Use:
    """A reference to a name that may be a shared object (resolved in combine)."""

    ref: str  # the local name, or a dotted ``module_alias.name``
    site: Site  # why: what the use is, when it blocks
    ok: bool  # the transform converts this use
    sync_session: bool = False  # `Session(e)` / `sessionmaker(e)`: wrong on an async engine
    callee: Tuple[str, int, str] = (
        "",
        -1,
        "",
    )  # handed to `f(engine)`: (f as written, position, keyword)
    in_coroutine: bool = False  # `with Factory() as s` in an async def: a Session meets async code
    # the sync function holding a use that converts if that function becomes async (--migrate
    # seeds it: `with Session(engine)` in a helper, `create_all(engine)` in an init function)
    seed: str = ""


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
    aliases: Tuple[Tuple[str, str], ...] = ()  # (module-level alias of a Session type, its kind)
    # (qualname, is_async, imported name) of functions with a parameter annotated by a name
    # imported from the project: a Session function if that name is an alias (combine decides)
    alias_defs: Tuple[Tuple[str, bool, str], ...] = ()
    # ("instance.attribute", scheme): URLs this module's settings build with a literal scheme
    url_schemes: Tuple[Tuple[str, str], ...] = ()
    doubles: Tuple[str, ...] = ()  # patch targets of Session doubles with an exact twin
    alias_blockers: Tuple[Tuple[str, Site], ...] = ()  # (imported name, why), as alias_defs
    fixture_blockers: Tuple[
        Site, ...
    ] = ()  # pytest fixtures taking a Session: blockers without --migrate
    connections: Tuple[int, ...] = ()  # lines of `with engine.connect() as conn` blocks
    disposals: Tuple[
        Tuple[str, int], ...
    ] = ()  # (ref, line) of `engine.dispose()` in a pytest hook
    # (engine, override function names) of import-time DDL in a test module: the overrides it
    # moves into (none: asyncio.run), decided here for the transform (sqla_testdb)
    ddl_overrides: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    # (qualname, parameter, position) of sync functions taking an `Engine` parameter
    engine_defs: Tuple[Tuple[str, str, int], ...] = ()
    holders: Tuple[str, ...] = ()  # module-level repository classes (sqla_holders)
    holder_attributes: Tuple[str, ...] = ()  # their session attributes ("session")
    # (attribute, site) of `x.attribute.method(...)` with `x` a name other than self: a
    # repository's session used from outside its class (combine blocks on those)
    outside_reads: Tuple[Tuple[str, Site], ...] = ()
    # (class, base as written, site) of module-level classes with a project base (combine checks
    # that no repository of another module is subclassed: its methods would be missed)
    class_bases: Tuple[Tuple[str, str, Site], ...] = ()
    # (name, line) of module-level typer/click commands (sqla_commands: split under --migrate)
    commands: Tuple[Tuple[str, int], ...] = ()
    # the module's top-level names, when it has commands (an engine import must not clash)
    bound: Tuple[str, ...] = ()
    # (callee as written, line, column, enclosing def, it is async) of calls that may be commands
    call_refs: Tuple[Tuple[str, int, int, str, bool], ...] = ()
    # (name, line, column) of project imports handed to other code as values (callbacks)
    passed_refs: Tuple[Tuple[str, int, int], ...] = ()


# The engine, factories and Session functions are one object the program shares: every file
# the conversion rewrites is written with all the others or not at all (groups.py).
CLOSURE_TIE = "<the SQLAlchemy engine and sessions made async>"


@dataclass(frozen=True)
class Combined:
    converting: bool  # a Session meets async code, and every use of what it shares converts
    seeds: Tuple[Tuple[str, str], ...]
    factories: FrozenSet[str]
    refused: bool = False  # a Session meets async code, and some use cannot be converted
    # path -> what the first pass has to say there (blocking uses, residual problems)
    reports: Mapping[str, Tuple[Site, ...]] = None  # type: ignore[assignment]
    migrate: bool = False  # --migrate: the whole app moves to AsyncSession, sync routes included
    # path -> Session alias names usable there (defined or imported) -> "sqlalchemy"/"sqlmodel"
    aliases: Mapping[str, Mapping[str, str]] = None  # type: ignore[assignment]
    runner: str = ""  # the conftest.py that gets anyio's `anyio_backend` fixture (--migrate)
    disposals: FrozenSet[Tuple[str, int]] = (
        frozenset()
    )  # (path, line): `asyncio.run(engine.dispose())`
    files: FrozenSet[str] = (
        frozenset()
    )  # every file with something to convert (engine uses included)
    # (path, line) of `with engine.connect() as conn` / `engine.begin()` blocks that convert
    connections: FrozenSet[Tuple[str, int]] = frozenset()
    # (path, name) of the CLI commands whose body runs in asyncio.run (sqla_commands)
    commands: FrozenSet[Tuple[str, str]] = frozenset()
    # (path, command, engine as named there, import level (-1: bound there), import module): the
    # engine each split command disposes at the end of its body (sqla_commands.command_engines)
    command_engines: Tuple[Tuple[str, str, str, int, str], ...] = ()
    # `[tool.asyncfix] async-driver`: the driver of engine URLs from settings, as declared
    driver: str = ""
    # (path, line, async scheme, already async) of engines whose URL is proven where settings
    # build it (sqla_urls)
    urls: FrozenSet[Tuple[str, int, str, bool]] = frozenset()
    # (test file, patch target) of Session doubles rewritten to their async twin (sqla_mocks)
    doubles: FrozenSet[Tuple[str, str]] = frozenset()
    # (path, engine, override function names): FileFacts.ddl_overrides of every file
    ddl_overrides: FrozenSet[Tuple[str, str, Tuple[str, ...]]] = frozenset()


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


def _is_test_module(filename: str) -> bool:
    base = os.path.basename(filename)
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


def _text_of(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _url_status(
    node: Optional[ast.AST],
    module_strings: Mapping[str, ast.AST],
    evidence: Optional[str],
    show: Any = None,
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
    elif (
        isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant)
    ):
        text = str(node.values[0].value)
    if text is not None:
        _, package = _map_scheme(text)
        if package is None:
            return None, f"the engine URL `{show(node)}` names a driver with no known async twin"
        return package, ""
    if evidence is not None:
        return evidence, ""
    return None, (
        f"the engine URL `{show(node)}` {FROM_SETTINGS}, so asyncfix cannot see "
        "which async driver it needs"
    )


FROM_SETTINGS = "comes from settings or code"  # the URL problem a declared driver settles


ENV_GETTERS = frozenset({"os.environ.get", "os.getenv"})


def _env_default(node: ast.AST, imports: Mapping[str, str]) -> Optional[str]:
    """``os.environ.get("X", "<url>")`` / ``os.getenv("X", "<url>")``: the default URL."""
    if (
        isinstance(node, ast.Call)
        and _resolve(node.func, imports) in ENV_GETTERS
        and len(node.args) == 2
        and not node.keywords
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def _sqlite_evidence(call: ast.Call) -> Optional[str]:
    """``connect_args={"check_same_thread": False}``: only SQLite's driver takes it."""
    for keyword in call.keywords:
        if keyword.arg == "connect_args" and isinstance(keyword.value, ast.Dict):
            for key in keyword.value.keys:
                if isinstance(key, ast.Constant) and key.value == "check_same_thread":
                    return "aiosqlite"
    return None


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
