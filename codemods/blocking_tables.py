"""The knowledge base of blocking APIs: what may not run on the event loop, why, and instead what.

One table per library, ``qualified name -> (why it blocks, the async alternative)``. A key is
one of

* an exact name, as an import resolves it: ``time.sleep``, ``pathlib.Path.read_text``;
* a class-wide entry ``pkg.mod.Class.*``: every method of the class (``sqlalchemy.orm.Session.*``);
* a module-wide entry ``pkg.*``: anything under the module, nested modules and classes included
  (``requests.*`` covers ``requests.get``, ``requests.api.get``, ``requests.Session.get``).

:data:`NON_BLOCKING` holds the exceptions, with the same three key forms and a reason each: the
calls that look like they belong to a blocking library but do no I/O (``Session.add``,
``requests.Request(...)``, ``select()``, ``Path.joinpath``) and the offloading helpers themselves
(``asyncio.to_thread``). The most specific key wins: ``requests.models.Response.iter_content``
(blocking, exact) beats ``requests.models.Response.*`` (non-blocking, class-wide), which beats
``requests.*`` (blocking, module-wide). A key is never in both a table and NON_BLOCKING.

The stdlib table covers everything ruff's flake8-async rules flag (checked against ruff 0.17
with ``--preview``): ASYNC210 (HTTP calls), ASYNC212 (sync httpx.Client), ASYNC220-222
(subprocesses, os.wait*), ASYNC230 (open / io.open / io.open_code / Path.open), ASYNC240
(os.path and pathlib.Path I/O), ASYNC250 (input), ASYNC251 (time.sleep).

Names are matched as written by the import resolver; a class reachable under several public
paths (``redis.Redis`` / ``redis.client.Redis``) is listed under each of them.

Where things live: the tables, one module per family of libraries (:mod:`.blocking_stdlib`,
:mod:`.blocking_services` for HTTP/SQL/NoSQL, :mod:`.blocking_compute` for cloud, data and
hashing), the exceptions (:mod:`.blocking_quiet`) and the entry builders
(:mod:`.blocking_entries`); this module gathers them in :data:`TABLES` and holds the lookups,
the one place that answers "does this call block". A new library adds its table to a family
module and one line to :data:`TABLES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional

from .blocking_compute import (
    ARGON2,
    BCRYPT,
    BOTO3,
    H5PY,
    MATPLOTLIB,
    PANDAS,
    PANDAS_READERS,
    PASSLIB,
    PIL,
    PWDLIB,
    WERKZEUG,
)
from .blocking_entries import TO_THREAD, Entry
from .blocking_http import HTTPX, REQUESTS, URLLIB3, URLLIB3_CLASSES
from .blocking_quiet import NON_BLOCKING
from .blocking_services import (
    PSYCOPG,
    PSYCOPG2,
    PYMONGO,
    PYMONGO_CLIENTS,
    PYMONGO_COLLECTIONS,
    PYMONGO_DATABASES,
    PYMYSQL,
    REDIS,
    REDIS_CLIENTS,
    SQLALCHEMY,
    SQLALCHEMY_ENGINES,
    SQLALCHEMY_SESSIONS,
    SQLMODEL,
    SQLMODEL_SESSIONS,
)
from .blocking_stdlib import PATH_CLASSES, STDLIB
from .config import ConfigError

__all__ = [
    "BlockingApi",
    "BLOCKING_MARKER",
    "NON_BLOCKING",
    "TABLES",
    "lookup",
    "lookup_method",
    "match_user",
    "user_blocking",
]


@dataclass(frozen=True)
class BlockingApi:
    name: str  # the table key that matched: "time.sleep", "requests.*", "sqlalchemy.orm.Session.*"
    library: str  # short label for messages: "stdlib", "requests", "sqlalchemy", ...
    why: str  # one line: why it blocks the event loop
    instead: str  # one line: the async alternative


# `# asyncfix: blocking` on a def line, a decorator line or the line above a def: the function
# blocks, whatever the tables say. Not `# asyncfix: blocking-foo` (another, future marker).
BLOCKING_MARKER: "re.Pattern[str]" = re.compile(r"#\s*asyncfix:\s*blocking(?![\w-])")

TABLES: Mapping[str, Mapping[str, Entry]] = {
    "stdlib": STDLIB,
    "requests": REQUESTS,
    "httpx": HTTPX,
    "urllib3": URLLIB3,
    "sqlalchemy": SQLALCHEMY,
    "sqlmodel": SQLMODEL,
    "psycopg2": PSYCOPG2,
    "psycopg": PSYCOPG,
    "pymysql": PYMYSQL,
    "pymongo": PYMONGO,
    "redis": REDIS,
    "boto3": BOTO3,
    "h5py": H5PY,
    "PIL": PIL,
    "pandas": PANDAS,
    "matplotlib": MATPLOTLIB,
    "bcrypt": BCRYPT,
    "passlib": PASSLIB,
    "argon2": ARGON2,
    "pwdlib": PWDLIB,
    "werkzeug": WERKZEUG,
}


# --------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------


def _build_index() -> Dict[str, BlockingApi]:
    index: Dict[str, BlockingApi] = {}
    for library, table in TABLES.items():
        for key, (why, instead) in table.items():
            if key in index:
                raise ValueError(
                    f"blocking_tables: {key!r} is listed under both {index[key].library!r} "
                    f"and {library!r}"
                )
            if key in NON_BLOCKING:
                raise ValueError(f"blocking_tables: {key!r} is both blocking and NON_BLOCKING")
            index[key] = BlockingApi(name=key, library=library, why=why, instead=instead)
    return index


_INDEX: Dict[str, BlockingApi] = _build_index()
_CONSTRUCTORS = frozenset({"__init__", "__new__"})

# What factories return, for names qualified through an instance: the import resolver writes
# `conn = sqlite3.connect(...); conn.execute(...)` as "sqlite3.connect.execute" and
# `r = requests.get(url); r.json()` as "requests.get.json". A prefix listed here is replaced by
# the class it returns before matching, so the class's entries and exceptions apply (and
# `r.json()` does not match "requests.*"). Applied left to right, so chains work too:
# "psycopg2.connect.cursor.execute" -> "psycopg2.extensions.cursor.execute".
_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
RETURNS: Dict[str, str] = {
    # files
    **{
        name: "io.TextIOWrapper"
        for name in ("builtins.open", "io.open", "codecs.open", "os.fdopen")
    },
    **{f"{cls}.open": "io.TextIOWrapper" for cls in PATH_CLASSES},
    **{
        name: "io.BufferedIOBase"
        for name in (
            "gzip.open",
            "bz2.open",
            "lzma.open",
            "zipfile.ZipFile.open",
            "tarfile.TarFile.extractfile",
            "tempfile.TemporaryFile",
            "tempfile.NamedTemporaryFile",
        )
    },
    "tarfile.open": "tarfile.TarFile",
    "tarfile.TarFile.open": "tarfile.TarFile",
    # sockets and HTTP
    "socket.create_connection": "socket.socket",
    "ssl.SSLContext.wrap_socket": "ssl.SSLSocket",
    "urllib.request.urlopen": "http.client.HTTPResponse",
    "urllib.request.OpenerDirector.open": "http.client.HTTPResponse",
    "http.client.HTTPConnection.getresponse": "http.client.HTTPResponse",
    "http.client.HTTPSConnection.getresponse": "http.client.HTTPResponse",
    "requests.session": "requests.sessions.Session",
    "requests.sessions.session": "requests.sessions.Session",
    **{f"requests.{verb}": "requests.models.Response" for verb in _HTTP_VERBS},
    **{f"requests.api.{verb}": "requests.models.Response" for verb in _HTTP_VERBS},
    **{
        f"{cls}.{verb}": "requests.models.Response"
        for cls in ("requests.Session", "requests.sessions.Session")
        for verb in _HTTP_VERBS + ("send",)
    },
    **{f"httpx.{verb}": "httpx.Response" for verb in _HTTP_VERBS},
    **{
        f"{cls}.{verb}": "httpx.Response"
        for cls in ("httpx.Client", "httpx._client.Client")
        for verb in _HTTP_VERBS + ("send",)
    },
    "urllib3.request": "urllib3.response.HTTPResponse",
    **{
        f"{cls}.{method}": "urllib3.response.HTTPResponse"
        for cls in URLLIB3_CLASSES
        for method in ("request", "urlopen", "request_encode_url", "request_encode_body")
    },
    # SQL
    "sqlite3.connect": "sqlite3.Connection",
    "sqlite3.Connection.cursor": "sqlite3.Cursor",
    "sqlite3.Connection.execute": "sqlite3.Cursor",
    "sqlite3.Connection.executemany": "sqlite3.Cursor",
    "sqlite3.Cursor.execute": "sqlite3.Cursor",
    "psycopg2.connect": "psycopg2.extensions.connection",
    "psycopg2.extensions.connection.cursor": "psycopg2.extensions.cursor",
    "psycopg2.pool.SimpleConnectionPool.getconn": "psycopg2.extensions.connection",
    "psycopg2.pool.ThreadedConnectionPool.getconn": "psycopg2.extensions.connection",
    "psycopg.connect": "psycopg.Connection",
    "psycopg.Connection.connect": "psycopg.Connection",
    "psycopg.Connection.cursor": "psycopg.Cursor",
    "psycopg.Connection.execute": "psycopg.Cursor",
    "psycopg_pool.ConnectionPool.getconn": "psycopg.Connection",
    "psycopg_pool.ConnectionPool.connection": "psycopg.Connection",
    "pymysql.connect": "pymysql.connections.Connection",
    "pymysql.Connect": "pymysql.connections.Connection",
    "pymysql.connections.Connection.cursor": "pymysql.cursors.Cursor",
    **{
        name: "sqlalchemy.engine.Engine"
        for name in (
            "sqlalchemy.create_engine",
            "sqlalchemy.engine.create_engine",
            "sqlalchemy.engine.create.create_engine",
            "sqlmodel.create_engine",
        )
    },
    **{
        f"{engine}.{method}": "sqlalchemy.engine.Connection"
        for engine in SQLALCHEMY_ENGINES
        for method in ("connect", "begin")
    },
    **{
        f"{session}.query": "sqlalchemy.orm.Query"
        for session in SQLALCHEMY_SESSIONS + SQLMODEL_SESSIONS
    },
    # NoSQL
    **{
        f"{client}.{method}": "pymongo.database.Database"
        for client in PYMONGO_CLIENTS
        for method in ("get_database", "get_default_database")
    },
    **{
        f"{database}.get_collection": "pymongo.collection.Collection"
        for database in PYMONGO_DATABASES
    },
    **{
        f"{collection}.{method}": cursor
        for collection in PYMONGO_COLLECTIONS
        for method, cursor in (
            ("find", "pymongo.cursor.Cursor"),
            ("aggregate", "pymongo.command_cursor.CommandCursor"),
        )
    },
    **{
        f"{factory}": "redis.client.Redis"
        for factory in (
            "redis.from_url",
            "redis.Redis.from_url",
            "redis.client.Redis.from_url",
            "redis.StrictRedis.from_url",
            "redis.client.StrictRedis.from_url",
            "redis.Redis.from_pool",
            "redis.client.Redis.from_pool",
        )
    },
    **{f"{client}.pipeline": "redis.client.Pipeline" for client in REDIS_CLIENTS[:4]},
    **{f"{client}.pubsub": "redis.client.PubSub" for client in REDIS_CLIENTS[:4]},
    **{f"{client}.lock": "redis.lock.Lock" for client in REDIS_CLIENTS[:4]},
    "redis.sentinel.Sentinel.master_for": "redis.client.Redis",
    "redis.sentinel.Sentinel.slave_for": "redis.client.Redis",
    # cloud / data / imaging
    **{
        name: "botocore.client.BaseClient"
        for name in (
            "boto3.client",
            "boto3.Session.client",
            "boto3.session.Session.client",
        )
    },
    "botocore.client.BaseClient.get_waiter": "botocore.waiter.Waiter",
    **{name: "pandas.DataFrame" for name in PANDAS_READERS},
    **{
        name: "PIL.Image.Image"
        for name in (
            "PIL.Image.open",
            "PIL.Image.new",
            "PIL.Image.frombytes",
            "PIL.Image.frombuffer",
            "PIL.Image.fromarray",
        )
    },
    "matplotlib.pyplot.figure": "matplotlib.figure.Figure",
    "matplotlib.pyplot.gcf": "matplotlib.figure.Figure",
    "pwdlib.PasswordHash.recommended": "pwdlib.PasswordHash",
}


def _candidates(name: str) -> Iterable[str]:
    """``a.b.C.m``, then ``a.b.C.*``, ``a.b.*``, ``a.*``: most specific first."""
    yield name
    head = name
    while True:
        head, dot, _ = head.rpartition(".")
        if not dot:
            return
        yield head + ".*"


def _normalise(qualified: str) -> str:
    name = qualified.strip()
    if "." not in name:
        return "builtins." + name  # bare builtins: open, input
    parts = name.split(".")
    current = parts[0]
    for part in parts[1:]:
        current = RETURNS.get(current, current) + "." + part
    head, _, last = current.rpartition(".")
    if last in _CONSTRUCTORS:  # `Class.__init__` is the constructor call `Class(...)`
        return head
    return current


@lru_cache(maxsize=None)
def lookup(qualified: str) -> Optional[BlockingApi]:
    """The blocking-API entry for a fully qualified dotted name (``time.sleep``,
    ``requests.sessions.Session.get``, ``open``), or None when it is not known to block.
    The most specific key wins; at each level an explicit NON_BLOCKING exception beats an entry.
    """
    if not qualified or not qualified.strip():
        return None
    for key in _candidates(_normalise(qualified)):
        if key in NON_BLOCKING:
            return None
        api = _INDEX.get(key)
        if api is not None:
            return api
    return None


def lookup_method(cls_qualified: str, method: str) -> Optional[BlockingApi]:
    """The entry for ``method`` called on an instance of ``cls_qualified``
    (``lookup_method("redis.Redis", "get")``)."""
    if not method:
        return lookup(cls_qualified)
    return lookup(f"{cls_qualified}.{method}")


_USER_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\.\*)?")


def user_blocking(options: Mapping[str, Any]) -> FrozenSet[str]:
    """The project's own blocking functions: ``[tool.asyncfix] blocking = ["pkg.mod.func", ...]``
    (``options["blocking"]``; a comma-separated string is accepted too). Entries may use the
    table key forms ``pkg.mod.Class.*`` and ``pkg.mod.*``."""
    value = options.get("blocking") if options else None
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigError(
            f"[tool.asyncfix] blocking must be a list of qualified names, got {value!r}"
        )
    names = set()
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"[tool.asyncfix] blocking: {item!r} is not a qualified name (a string)"
            )
        item = item.strip()
        if not item:
            continue
        if not _USER_NAME.fullmatch(item):
            raise ConfigError(
                f"[tool.asyncfix] blocking: {item!r} is not a dotted name like 'pkg.module.func'"
            )
        names.add(item)
    return frozenset(names)


def match_user(qualified: str, names: FrozenSet[str]) -> Optional[BlockingApi]:
    """``qualified`` against the user's ``blocking`` names (:func:`user_blocking`), with the
    same exact / class-wide / module-wide matching as the tables."""
    if not names or not qualified:
        return None
    for key in _candidates(_normalise(qualified)):
        if key in names:
            return BlockingApi(
                name=key,
                library="project",
                why="listed in [tool.asyncfix] blocking",
                instead=TO_THREAD,
            )
    return None
