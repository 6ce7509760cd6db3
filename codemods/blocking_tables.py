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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

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

Entry = Tuple[str, str]  # (why, instead)
Table = Dict[str, Entry]


def _each(names: Iterable[str], why: str, instead: str) -> Table:
    return {name: (why, instead) for name in names}


def _members(classes: Iterable[str], methods: Iterable[str], why: str, instead: str) -> Table:
    methods = tuple(methods)
    return {f"{cls}.{method}": (why, instead) for cls in classes for method in methods}


def _wide(classes: Iterable[str], why: str, instead: str) -> Table:
    """Class-wide (or module-wide) entries: ``cls.*``."""
    return {f"{cls}.*": (why, instead) for cls in classes}


def _quiet(names: Iterable[str], reason: str) -> Dict[str, str]:
    return {name: reason for name in names}


def _quiet_members(classes: Iterable[str], methods: Iterable[str], reason: str) -> Dict[str, str]:
    methods = tuple(methods)
    return {f"{cls}.{method}": reason for cls in classes for method in methods}


TO_THREAD = "await asyncio.to_thread(...) (or run_in_threadpool)"

# --------------------------------------------------------------------------------------------
# stdlib
# --------------------------------------------------------------------------------------------

STDLIB: Table = {
    # ASYNC251: the thread sleeps, and the loop with it.
    "time.sleep": ("suspends the whole thread, event loop included", "await asyncio.sleep(...)"),
    # ASYNC250: waits for a line on stdin.
    "builtins.input": (
        "waits for the user to type a line on stdin",
        "await loop.run_in_executor(None, input, ...)",
    ),
    "getpass.getpass": (
        "waits for the user to type a password on the terminal",
        "await loop.run_in_executor(None, getpass.getpass, ...)",
    ),
    **_each(
        ("sys.stdin.read", "sys.stdin.readline", "sys.stdin.readlines"),
        "waits for data on stdin",
        "await loop.run_in_executor(None, sys.stdin.readline) or an asyncio StreamReader",
    ),
    # select() waits for file descriptors with a timeout: the loop waits with it.
    **_each(
        ("select.select",),
        "waits for file descriptors to become ready",
        "loop.add_reader / asyncio streams",
    ),
    # ---- sockets: every call that connects, sends or receives waits on the network.
    **_each(
        ("socket.create_connection", "socket.socket.connect", "socket.socket.connect_ex"),
        "connects a blocking socket: DNS lookup and TCP handshake on the loop thread",
        "await asyncio.open_connection(...)",
    ),
    **_each(
        (
            "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
            "socket.gethostbyaddr", "socket.getfqdn", "socket.getnameinfo",
        ),
        "resolves a name through the system resolver (DNS), which blocks",
        "await loop.getaddrinfo(...) / loop.getnameinfo(...)",
    ),
    **_members(
        ("socket.socket", "socket.SocketType"),
        (
            "accept", "recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into",
            "send", "sendall", "sendto", "sendmsg", "sendfile",
        ),
        "reads from or writes to a blocking socket: waits on the peer",
        "asyncio streams (open_connection / start_server) or loop.sock_* on a non-blocking socket",
    ),
    **_members(
        ("ssl.SSLSocket",),
        ("connect", "connect_ex", "accept", "do_handshake", "read", "write", "recv", "recv_into",
         "send", "sendall", "sendfile", "unwrap"),
        "TLS I/O on a blocking socket: waits on the peer",
        "await asyncio.open_connection(..., ssl=context)",
    ),
    "ssl.SSLContext.wrap_socket": (
        "wrapping a connected socket runs the TLS handshake, a network round trip",
        "await asyncio.open_connection(..., ssl=context)",
    ),
    "ssl.get_server_certificate": (
        "connects to the server and runs a TLS handshake",
        TO_THREAD,
    ),
    # ---- HTTP (ASYNC210).
    **_each(
        ("urllib.request.urlopen", "urllib.request.urlretrieve",
         "urllib.request.OpenerDirector.open"),
        "a synchronous HTTP request: waits for the server's response",
        "httpx.AsyncClient (await client.get(...)) or aiohttp",
    ),
    **_wide(
        ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
        "http.client connections do synchronous socket I/O (connect/request/getresponse)",
        "httpx.AsyncClient or aiohttp",
    ),
    **_members(
        ("http.client.HTTPResponse",),
        ("read", "read1", "readinto", "readinto1", "readline", "readlines", "peek", "close"),
        "reads the response body from a blocking socket",
        "httpx.AsyncClient (await response.aread()) or aiohttp",
    ),
    # ---- mail, FTP and friends: constructors connect when given a host.
    **_each(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
        "connects to the mail server when given a host (socket I/O in the constructor)",
        "aiosmtplib.SMTP / aiosmtplib.send",
    ),
    **_wide(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
        "SMTP commands are synchronous network round trips",
        "aiosmtplib.SMTP / aiosmtplib.send",
    ),
    **_each(
        ("ftplib.FTP", "ftplib.FTP_TLS"),
        "connects to the FTP server when given a host (socket I/O in the constructor)",
        "aioftp.Client",
    ),
    **_wide(
        ("ftplib.FTP", "ftplib.FTP_TLS"),
        "FTP commands and transfers are synchronous network I/O",
        "aioftp.Client",
    ),
    **_each(
        ("poplib.POP3", "poplib.POP3_SSL", "imaplib.IMAP4", "imaplib.IMAP4_SSL"),
        "connects to the mail server in the constructor",
        f"aioimaplib, or {TO_THREAD}",
    ),
    **_wide(
        ("poplib.POP3", "poplib.POP3_SSL", "imaplib.IMAP4", "imaplib.IMAP4_SSL"),
        "mailbox commands are synchronous network round trips",
        f"aioimaplib, or {TO_THREAD}",
    ),
    # ---- sqlite3: the database is a file; every statement is disk I/O under a lock.
    "sqlite3.connect": (
        "opens the database file (disk I/O, may wait on a lock)",
        "aiosqlite.connect(...) (async with)",
    ),
    **_members(
        ("sqlite3.Connection", "sqlite3.Cursor"),
        ("execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall",
         "commit", "rollback", "close", "backup", "iterdump", "blobopen", "serialize",
         "deserialize"),
        "runs SQL against the database file: disk I/O, and waits up to `timeout` on locks",
        "aiosqlite (await db.execute(...))",
    ),
    # ---- processes (ASYNC220: create, ASYNC221: run, ASYNC222: wait).
    **_each(
        ("subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
         "subprocess.getoutput", "subprocess.getstatusoutput"),
        "runs a child process and waits for it to exit",
        "await asyncio.create_subprocess_exec(...) then await proc.communicate()",
    ),
    "subprocess.Popen": (
        "fork/exec of a child process on the loop thread, and a sync handle to wait on (ASYNC220)",
        "await asyncio.create_subprocess_exec(...)",
    ),
    **_members(
        ("subprocess.Popen",),
        ("wait", "communicate"),
        "waits for the child process to exit",
        "asyncio.subprocess.Process: await proc.wait() / await proc.communicate()",
    ),
    "os.popen": (
        "starts a shell command through a pipe; reading it waits for the command (ASYNC220)",
        "await asyncio.create_subprocess_shell(..., stdout=PIPE)",
    ),
    **_each(
        ("os.system", "os.posix_spawn", "os.posix_spawnp"),
        "runs a child process (os.system waits for it to exit)",
        "await asyncio.create_subprocess_shell(...) / create_subprocess_exec(...)",
    ),
    **_each(
        ("os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve",
         "os.spawnvp", "os.spawnvpe"),
        "spawns a child process; with P_WAIT it also waits for it to exit",
        "await asyncio.create_subprocess_exec(...)",
    ),
    **_each(
        ("os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid"),
        "waits for a child process to change state (ASYNC222)",
        "await loop.run_in_executor(None, os.waitpid, ...) or asyncio.subprocess's proc.wait()",
    ),
    # ---- open / io (ASYNC230).
    **_each(
        ("builtins.open", "io.open", "io.open_code", "codecs.open", "os.fdopen", "io.FileIO"),
        "opens a file: disk I/O, and the file object it returns reads/writes synchronously",
        "aiofiles.open(...) / anyio.open_file(...), or the whole read/write in asyncio.to_thread",
    ),
    **_members(
        ("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom",
         "io.BufferedRWPair", "io.FileIO", "io.BufferedIOBase", "io.RawIOBase", "io.TextIOBase",
         "io.IOBase", "typing.IO", "typing.TextIO", "typing.BinaryIO"),
        ("read", "read1", "readinto", "readinto1", "readline", "readlines", "readall", "write",
         "writelines", "flush", "truncate"),
        "reads or writes a file synchronously",
        "aiofiles / anyio.open_file, or the whole read/write in asyncio.to_thread",
    ),
    # ---- os file operations: every one is a system call on the file system.
    **_each(
        tuple("os." + name for name in (
            "remove", "unlink", "rename", "renames", "replace", "mkdir", "makedirs", "rmdir",
            "removedirs", "listdir", "scandir", "walk", "fwalk", "stat", "lstat", "chmod",
            "lchmod", "chown", "lchown", "link", "symlink", "readlink", "truncate", "utime",
            "access", "open", "read", "write", "pread", "pwrite", "readv", "writev", "fsync",
            "fdatasync", "sendfile", "copy_file_range", "statvfs", "mkfifo", "mknod",
            "getcwd", "chdir", "getxattr", "setxattr", "listxattr", "removexattr",
        )),
        "a file-system system call: disk (or network file system) latency on the loop thread",
        "await asyncio.to_thread(os.<fn>, ...) or aiofiles.os",
    ),
    # ASYNC240: os.path functions that stat the file system, read the cwd or the user database.
    # (ruff also flags os.path.normpath, which is pure string work: see NON_BLOCKING.)
    **_each(
        tuple("os.path." + name for name in (
            "exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction",
            "isdevdrive", "isreserved", "getsize", "getmtime", "getatime", "getctime",
            "samefile", "sameopenfile", "realpath", "abspath", "relpath", "expanduser",
        )),
        "queries the file system (stat/readlink/getcwd/pwd database), flagged by ruff ASYNC240",
        "anyio.Path / trio.Path methods, or asyncio.to_thread(os.path.<fn>, ...)",
    ),
    **_each(
        tuple("shutil." + name for name in (
            "copy", "copy2", "copyfile", "copyfileobj", "copymode", "copystat", "copytree",
            "rmtree", "move", "make_archive", "unpack_archive", "disk_usage", "chown", "which",
        )),
        "copies, moves or deletes files: as long as the disk takes",
        "await asyncio.to_thread(shutil.<fn>, ...)",
    ),
    **_each(
        ("glob.glob", "glob.iglob"),
        "lists directories on disk",
        "await asyncio.to_thread(glob.glob, ...) or anyio.Path.glob",
    ),
    **_each(
        ("tempfile.mkstemp", "tempfile.mkdtemp", "tempfile.TemporaryFile",
         "tempfile.NamedTemporaryFile", "tempfile.TemporaryDirectory"),
        "creates files or directories on disk",
        "await asyncio.to_thread(...) or aiofiles.tempfile",
    ),
    # ---- compressed files and archives: disk I/O plus (de)compression on the loop thread.
    **_each(
        ("gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File", "lzma.open", "lzma.LZMAFile",
         "shelve.open", "dbm.open"),
        "opens a file; reading/writing it does disk I/O and (de)compression synchronously",
        "await asyncio.to_thread(...) around the whole read/write",
    ),
    **_each(
        ("zipfile.ZipFile", "zipfile.is_zipfile"),
        "opens the archive and reads its central directory from disk",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **_members(
        ("zipfile.ZipFile",),
        ("open", "read", "write", "writestr", "extract", "extractall", "testzip", "close",
         "mkdir"),
        "reads or writes archive members: disk I/O and (de)compression",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **_each(
        ("tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.is_tarfile"),
        "opens the archive file (and reads its first header)",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **_members(
        ("tarfile.TarFile",),
        ("add", "addfile", "extract", "extractall", "extractfile", "getmember", "getmembers",
         "getnames", "next", "list", "close"),
        "reads or writes the archive: disk I/O, and getmembers/getnames scan the whole file",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    # ---- password hashing in hashlib: slow by design (key stretching).
    **_each(
        ("hashlib.pbkdf2_hmac", "hashlib.scrypt"),
        "key stretching: slow on purpose (100k+ rounds / memory-hard), CPU on the loop thread",
        f"{TO_THREAD}: OpenSSL releases the GIL, so a thread frees the loop",
    ),
    # ---- waiting on threads and futures.
    **_each(
        ("threading.Thread.join", "threading.Event.wait", "threading.Condition.wait",
         "threading.Condition.wait_for", "threading.Barrier.wait", "queue.Queue.get",
         "queue.Queue.put", "queue.Queue.join", "concurrent.futures.Future.result",
         "concurrent.futures.Future.exception", "concurrent.futures.wait",
         "concurrent.futures.Executor.shutdown",
         "concurrent.futures.ThreadPoolExecutor.shutdown",
         "concurrent.futures.ProcessPoolExecutor.shutdown"),
        "waits for another thread or process to finish or signal",
        "await asyncio.wrap_future(future) / asyncio.Event / asyncio.Queue",
    ),
}

# pathlib (ASYNC230 for open, ASYNC240 for the rest): Path methods that touch the file system.
PATH_CLASSES = ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")
PATH_IO_METHODS = (
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_file", "is_dir",
    "is_symlink", "is_mount", "is_socket", "is_fifo", "is_block_device", "is_char_device",
    "is_junction", "stat", "lstat", "owner", "group", "chmod", "lchmod", "mkdir", "rmdir",
    "unlink", "touch", "rename", "replace", "samefile", "resolve", "absolute", "expanduser",
    "readlink", "symlink_to", "hardlink_to", "link_to", "iterdir", "glob", "rglob", "walk", "cwd",
    "home", "copy", "copy_into", "move", "move_into",
)
STDLIB.update(
    _members(
        PATH_CLASSES,
        PATH_IO_METHODS,
        "pathlib I/O: a file-system call (stat/open/listdir/...) on the loop thread",
        "anyio.Path (await path.read_text()) or asyncio.to_thread(path.<method>, ...)",
    )
)

# --------------------------------------------------------------------------------------------
# HTTP clients
# --------------------------------------------------------------------------------------------

_HTTP_WHY = "a synchronous HTTP request: the loop waits for the whole round trip"
REQUESTS: Table = {
    # Module-wide: requests.get/post/..., requests.api.*, Session methods, adapters. The pieces
    # that do no I/O are listed in NON_BLOCKING below.
    "requests.*": (_HTTP_WHY, "httpx.AsyncClient (await client.get(...))"),
    **_wide(
        ("requests.Session", "requests.sessions.Session"),
        "Session methods send synchronous HTTP requests",
        "httpx.AsyncClient (await client.get(...))",
    ),
    # Streaming bodies (stream=True) are read from the socket as they are iterated.
    **_members(
        ("requests.Response", "requests.models.Response"),
        ("iter_content", "iter_lines"),
        "reads a streamed response body from the socket",
        "httpx.AsyncClient.stream(...) with response.aiter_bytes()",
    ),
    **_each(
        ("requests.adapters.HTTPAdapter.send",),
        _HTTP_WHY,
        "httpx.AsyncClient",
    ),
}

_HTTPX_INSTEAD = "httpx.AsyncClient (await client.get(...))"
HTTPX: Table = {
    # Module-level helpers make a throwaway sync Client (ASYNC210).
    **_each(
        ("httpx." + verb for verb in
         ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")),
        "module-level httpx helpers use a synchronous Client",
        _HTTPX_INSTEAD,
    ),
    **_each(
        ("httpx._api." + verb for verb in
         ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")),
        "module-level httpx helpers use a synchronous Client",
        _HTTPX_INSTEAD,
    ),
    # ASYNC212: every request method of the sync client (close included).
    **_wide(("httpx.Client", "httpx._client.Client"), _HTTP_WHY, _HTTPX_INSTEAD),
    # Reading a streamed sync response.
    **_members(
        ("httpx.Response", "httpx._models.Response"),
        ("read", "iter_bytes", "iter_text", "iter_lines", "iter_raw", "close"),
        "reads a streamed response body synchronously",
        "AsyncClient.stream(...) with await response.aread() / response.aiter_bytes()",
    ),
}

_URLLIB3_CLASSES = (
    "urllib3.PoolManager", "urllib3.poolmanager.PoolManager", "urllib3.ProxyManager",
    "urllib3.poolmanager.ProxyManager", "urllib3.HTTPConnectionPool",
    "urllib3.connectionpool.HTTPConnectionPool", "urllib3.HTTPSConnectionPool",
    "urllib3.connectionpool.HTTPSConnectionPool",
)
URLLIB3: Table = {
    "urllib3.request": (_HTTP_WHY, "httpx.AsyncClient or aiohttp"),  # ASYNC210 (urllib3 2.x)
    **_members(
        _URLLIB3_CLASSES,
        ("request", "urlopen", "request_encode_url", "request_encode_body"),
        _HTTP_WHY,
        "httpx.AsyncClient or aiohttp",
    ),
    **_members(
        ("urllib3.response.HTTPResponse", "urllib3.HTTPResponse", "urllib3.BaseHTTPResponse",
         "urllib3.response.BaseHTTPResponse"),
        ("read", "read_chunked", "stream", "readinto", "readline", "readlines", "json",
         "drain_conn"),
        "reads the response body from the socket (preload_content=False)",
        "httpx.AsyncClient with await response.aread()",
    ),
}

# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------

_SQL_WHY = "runs SQL on a synchronous DBAPI connection: a network (or disk) round trip"
_SESSION_INSTEAD = "AsyncSession (sqlalchemy.ext.asyncio): await session.execute(...)"
SQLALCHEMY_SESSIONS = (
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session",
)
SQLALCHEMY_ENGINES = (
    "sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine",
)
SQLALCHEMY_CONNECTIONS = (
    "sqlalchemy.Connection", "sqlalchemy.engine.Connection", "sqlalchemy.engine.base.Connection",
)
SQLALCHEMY_METADATA = (
    "sqlalchemy.MetaData", "sqlalchemy.schema.MetaData", "sqlalchemy.sql.schema.MetaData",
)
SQLALCHEMY: Table = {
    # Every Session method except the bookkeeping ones in NON_BLOCKING (add, expunge, begin...):
    # execute/scalars/get/commit/flush/refresh/merge/delete/close... all talk to the database.
    **_wide(SQLALCHEMY_SESSIONS, _SQL_WHY, _SESSION_INSTEAD),
    # The legacy Query runs when a terminal method is called (or it is iterated).
    **_members(
        ("sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"),
        ("all", "first", "one", "one_or_none", "scalar", "count", "get", "delete", "update",
         "__iter__", "yield_per", "exists_", "with_for_update_execute"),
        "runs the query on the session's synchronous connection",
        "select(...) with await AsyncSession.execute / .scalars (Query has no async form)",
    ),
    # Engine: connect/begin check a connection out of the pool (may open a new one).
    **_wide(
        SQLALCHEMY_ENGINES,
        "checks a DBAPI connection out of the pool (may open a new network connection) or runs SQL",
        "create_async_engine(...): async with engine.connect() / engine.begin()",
    ),
    **_wide(
        SQLALCHEMY_CONNECTIONS,
        _SQL_WHY,
        "AsyncConnection: await conn.execute(...)",
    ),
    **_members(
        SQLALCHEMY_METADATA,
        ("create_all", "drop_all", "reflect"),
        "runs DDL / reflection queries on a synchronous connection",
        "async with engine.begin() as conn: await conn.run_sync(metadata.create_all)",
    ),
    **_each(
        ("sqlalchemy.Table.create", "sqlalchemy.Table.drop", "sqlalchemy.schema.Table.create",
         "sqlalchemy.schema.Table.drop"),
        "runs DDL on a synchronous connection",
        "await conn.run_sync(table.create)",
    ),
}

SQLMODEL_SESSIONS = ("sqlmodel.Session", "sqlmodel.orm.session.Session")
SQLMODEL: Table = {
    # sqlmodel.Session is a sqlalchemy Session plus exec(): same rules.
    **_wide(
        SQLMODEL_SESSIONS,
        _SQL_WHY,
        "sqlmodel.ext.asyncio.session.AsyncSession: await session.exec(...)",
    ),
    **_members(
        ("sqlmodel.SQLModel.metadata",),
        ("create_all", "drop_all", "reflect"),
        "runs DDL on a synchronous connection",
        "async with engine.begin() as conn: await conn.run_sync(SQLModel.metadata.create_all)",
    ),
}

_PSYCOPG2_INSTEAD = "psycopg 3 (await psycopg.AsyncConnection.connect(...)) or asyncpg"
PSYCOPG2_CONNECTIONS = ("psycopg2.extensions.connection", "psycopg2._psycopg.connection")
PSYCOPG2_CURSORS = (
    "psycopg2.extensions.cursor", "psycopg2._psycopg.cursor", "psycopg2.extras.DictCursor",
    "psycopg2.extras.RealDictCursor", "psycopg2.extras.NamedTupleCursor",
)
PSYCOPG2: Table = {
    **_each(
        ("psycopg2.connect", "psycopg2.extensions.connection", "psycopg2._psycopg.connection"),
        "opens a PostgreSQL connection: TCP, TLS and authentication round trips",
        _PSYCOPG2_INSTEAD,
    ),
    **_members(
        PSYCOPG2_CONNECTIONS,
        ("commit", "rollback", "close", "cancel", "reset", "set_session", "set_isolation_level",
         "set_client_encoding", "lobject", "tpc_begin", "tpc_prepare", "tpc_commit",
         "tpc_rollback", "tpc_recover", "poll"),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **_members(
        PSYCOPG2_CURSORS,
        ("execute", "executemany", "callproc", "fetchone", "fetchmany", "fetchall", "scroll",
         "copy_from", "copy_to", "copy_expert", "close", "__iter__", "__next__"),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **_each(
        ("psycopg2.extras.execute_batch", "psycopg2.extras.execute_values"),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **_each(
        ("psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool"),
        "opens `minconn` connections in the constructor",
        "psycopg_pool.AsyncConnectionPool or asyncpg.create_pool",
    ),
    **_members(
        ("psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool",
         "psycopg2.pool.AbstractConnectionPool"),
        ("getconn", "putconn", "closeall"),
        "may open, reset or close PostgreSQL connections",
        "psycopg_pool.AsyncConnectionPool or asyncpg.create_pool",
    ),
}

_PSYCOPG_INSTEAD = "psycopg.AsyncConnection / AsyncCursor (await conn.execute(...))"
PSYCOPG_CONNECTIONS = ("psycopg.Connection", "psycopg.connection.Connection")
PSYCOPG_CURSORS = (
    "psycopg.Cursor", "psycopg.cursor.Cursor", "psycopg.ClientCursor",
    "psycopg.client_cursor.ClientCursor", "psycopg.ServerCursor",
    "psycopg.server_cursor.ServerCursor", "psycopg.RawCursor", "psycopg.raw_cursor.RawCursor",
)
PSYCOPG: Table = {
    **_each(
        ("psycopg.connect", "psycopg.Connection.connect", "psycopg.connection.Connection.connect"),
        "opens a PostgreSQL connection: TCP, TLS and authentication round trips",
        "await psycopg.AsyncConnection.connect(...)",
    ),
    **_members(
        PSYCOPG_CONNECTIONS,
        ("execute", "commit", "rollback", "close", "cancel", "cancel_safe", "transaction",
         "pipeline", "notifies", "set_autocommit", "set_isolation_level", "set_read_only",
         "set_deferrable", "tpc_begin", "tpc_prepare", "tpc_commit", "tpc_rollback",
         "tpc_recover", "wait"),
        _SQL_WHY,
        _PSYCOPG_INSTEAD,
    ),
    **_members(
        PSYCOPG_CURSORS,
        ("execute", "executemany", "fetchone", "fetchmany", "fetchall", "scroll", "copy",
         "stream", "close", "__iter__", "__next__"),
        _SQL_WHY,
        _PSYCOPG_INSTEAD,
    ),
    **_members(
        ("psycopg_pool.ConnectionPool", "psycopg_pool.pool.ConnectionPool",
         "psycopg_pool.NullConnectionPool"),
        ("getconn", "putconn", "connection", "open", "close", "wait", "check", "resize"),
        "waits for, opens or closes pooled PostgreSQL connections",
        "psycopg_pool.AsyncConnectionPool",
    ),
}

_PYMYSQL_INSTEAD = "aiomysql / asyncmy (await conn.cursor().execute(...))"
PYMYSQL_CONNECTIONS = (
    "pymysql.Connection", "pymysql.connections.Connection", "pymysql.Connect",
)
PYMYSQL_CURSORS = (
    "pymysql.cursors.Cursor", "pymysql.cursors.DictCursor", "pymysql.cursors.SSCursor",
    "pymysql.cursors.SSDictCursor",
)
PYMYSQL: Table = {
    **_each(
        ("pymysql.connect", "pymysql.Connect", "pymysql.Connection",
         "pymysql.connections.Connection"),
        "opens a MySQL connection in the constructor: TCP and authentication round trips",
        _PYMYSQL_INSTEAD,
    ),
    **_members(
        PYMYSQL_CONNECTIONS,
        ("commit", "rollback", "begin", "close", "ping", "select_db", "query", "autocommit",
         "set_charset", "set_character_set", "kill", "show_warnings", "next_result", "connect"),
        _SQL_WHY,
        _PYMYSQL_INSTEAD,
    ),
    **_members(
        PYMYSQL_CURSORS,
        ("execute", "executemany", "callproc", "fetchone", "fetchmany", "fetchall", "scroll",
         "nextset", "close", "__iter__"),
        _SQL_WHY,
        _PYMYSQL_INSTEAD,
    ),
}

# --------------------------------------------------------------------------------------------
# NoSQL
# --------------------------------------------------------------------------------------------

_MONGO_WHY = "a synchronous round trip to the MongoDB server"
_MONGO_INSTEAD = "pymongo.AsyncMongoClient (pymongo >= 4.9) or motor: await coll.find_one(...)"
PYMONGO_CLIENTS = (
    "pymongo.MongoClient", "pymongo.mongo_client.MongoClient",
    "pymongo.synchronous.mongo_client.MongoClient",
)
PYMONGO_DATABASES = (
    "pymongo.database.Database", "pymongo.synchronous.database.Database",
)
PYMONGO_COLLECTIONS = (
    "pymongo.collection.Collection", "pymongo.synchronous.collection.Collection",
)
PYMONGO_CURSORS = (
    "pymongo.cursor.Cursor", "pymongo.synchronous.cursor.Cursor",
    "pymongo.command_cursor.CommandCursor", "pymongo.synchronous.command_cursor.CommandCursor",
)
PYMONGO: Table = {
    # Client, database and collection methods: every one is a command to the server, except the
    # accessors in NON_BLOCKING (get_database, get_collection, with_options, ...).
    **_wide(PYMONGO_CLIENTS + PYMONGO_DATABASES + PYMONGO_COLLECTIONS, _MONGO_WHY, _MONGO_INSTEAD),
    # find() returns a lazy Cursor, but it is nearly always consumed right away (list(...),
    # a for loop, .to_list()), on the loop thread: treat the call as the query.
    # Cursor: fetching batches is network I/O; the query-building methods are in NON_BLOCKING.
    **_wide(PYMONGO_CURSORS, "fetches result batches from the server", _MONGO_INSTEAD),
}

_REDIS_INSTEAD = "redis.asyncio.Redis (await r.get(...))"
REDIS_CLIENTS = (
    "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
    "redis.cluster.RedisCluster", "redis.RedisCluster",
)
REDIS: Table = {
    # Every command method of the sync client is a network round trip (the factories and
    # object builders are in NON_BLOCKING).
    **_wide(REDIS_CLIENTS, "a synchronous round trip to the Redis server", _REDIS_INSTEAD),
    # Unlike Redis(), RedisCluster() connects in its constructor to discover the slot map.
    **_each(
        ("redis.RedisCluster", "redis.cluster.RedisCluster"),
        "connects to the startup nodes and fetches the cluster's slot map in the constructor",
        "redis.asyncio.cluster.RedisCluster (await rc.initialize())",
    ),
    **_members(
        ("redis.client.Pipeline", "redis.client.StrictPipeline", "redis.cluster.ClusterPipeline"),
        ("execute", "watch", "unwatch", "reset", "immediate_execute_command"),
        "sends the buffered pipeline (or WATCH) to the server and waits for the replies",
        "redis.asyncio pipelines: await pipe.execute()",
    ),
    **_wide(
        ("redis.client.PubSub",),
        "talks to the server (subscribe) or waits for messages (listen/get_message)",
        "redis.asyncio PubSub: await pubsub.get_message() / async for message in pubsub.listen()",
    ),
    **_members(
        ("redis.lock.Lock",),
        ("acquire", "release", "extend", "reacquire", "locked", "owned", "do_acquire"),
        "round trips to the server, and acquire() polls with time.sleep while the lock is taken",
        "redis.asyncio.lock.Lock (async with r.lock(...))",
    ),
    **_members(
        ("redis.sentinel.Sentinel",),
        ("discover_master", "discover_slaves", "execute_command"),
        "asks the sentinels over the network",
        "redis.asyncio.sentinel.Sentinel",
    ),
    "redis.commands.core.Script.__call__": (
        "runs EVALSHA on the server",
        "redis.asyncio: await script(keys=..., args=...)",
    ),
}

# --------------------------------------------------------------------------------------------
# Cloud, files and data
# --------------------------------------------------------------------------------------------

_BOTO_INSTEAD = "aioboto3 / aiobotocore, or asyncio.to_thread(client.<method>, ...)"
BOTO3: Table = {
    # Building a client loads the service model JSON from disk and may resolve credentials
    # (files, or an HTTP call to the instance metadata service).
    **_each(
        ("boto3.client", "boto3.resource", "boto3.Session.client", "boto3.Session.resource",
         "boto3.session.Session.client", "boto3.session.Session.resource"),
        "loads service models from disk and may fetch credentials over HTTP (IMDS)",
        "create clients once at startup, or aioboto3.Session().client(...)",
    ),
    # Every API call of a client is a synchronous HTTPS request (upload_file/download_file
    # included); local helpers are in NON_BLOCKING.
    **_wide(
        ("botocore.client.BaseClient",),
        "every AWS API call is a synchronous HTTPS request",
        _BOTO_INSTEAD,
    ),
    "botocore.waiter.Waiter.wait": (
        "polls the AWS API with sleeps until the resource reaches the state",
        _BOTO_INSTEAD,
    ),
    **_each(
        tuple(f"botocore.paginate.PageIterator.{method}"
              for method in ("__iter__", "build_full_result", "search")),
        "each page is a synchronous HTTPS request",
        _BOTO_INSTEAD,
    ),
    **_members(
        ("boto3.s3.transfer.S3Transfer",),
        ("upload_file", "download_file"),
        "transfers the file synchronously (waits for the worker threads)",
        _BOTO_INSTEAD,
    ),
}

_H5_INSTEAD = "asyncio.to_thread(...) around the whole HDF5 work (h5py has no async API)"
H5PY_FILES = ("h5py.File", "h5py._hl.files.File")
H5PY: Table = {
    **_each(H5PY_FILES, "opens an HDF5 file: disk I/O", _H5_INSTEAD),
    **_wide(
        H5PY_FILES + ("h5py.Dataset", "h5py._hl.dataset.Dataset", "h5py.Group",
                      "h5py._hl.group.Group"),
        "HDF5 reads/writes/metadata lookups go to disk, serialised on HDF5's global lock",
        _H5_INSTEAD,
    ),
}

_PIL_INSTEAD = f"{TO_THREAD}: Pillow's codecs and resamplers release the GIL"
PIL_IMAGES = ("PIL.Image.Image",)
PIL: Table = {
    "PIL.Image.open": ("opens the image file and reads its header from disk", _PIL_INSTEAD),
    **_each(
        ("PIL.Image.frombytes", "PIL.Image.frombuffer", "PIL.Image.fromarray"),
        "decodes/copies a whole image in C: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
    **_members(
        PIL_IMAGES,
        ("save", "load", "show", "verify"),
        "encodes/decodes the image and reads/writes the file",
        _PIL_INSTEAD,
    ),
    **_members(
        PIL_IMAGES,
        ("resize", "thumbnail", "convert", "rotate", "transpose", "transform", "filter", "reduce",
         "quantize", "tobytes", "copy", "crop", "paste", "point", "histogram", "getcolors",
         "alpha_composite", "draft", "effect_spread"),
        "pixel work in C on the whole image: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
    **_each(
        ("PIL.ImageOps." + name for name in
         ("exif_transpose", "fit", "contain", "cover", "pad", "scale", "grayscale", "autocontrast",
          "equalize", "posterize", "solarize", "invert", "mirror", "flip", "expand")),
        "pixel work in C on the whole image: CPU time proportional to its size",
        _PIL_INSTEAD,
    ),
}

_PANDAS_INSTEAD = "await asyncio.to_thread(pandas.read_csv, ...) (pandas has no async I/O)"
PANDAS_READERS = tuple(
    "pandas.read_" + kind
    for kind in (
        "csv", "table", "fwf", "excel", "json", "parquet", "feather", "orc", "pickle", "hdf",
        "html", "xml", "sql", "sql_query", "sql_table", "stata", "sas", "spss", "clipboard", "gbq",
    )
)
PANDAS_FRAMES = ("pandas.DataFrame", "pandas.core.frame.DataFrame", "pandas.Series",
                 "pandas.core.series.Series")
PANDAS: Table = {
    **_each(
        PANDAS_READERS,
        "reads and parses a whole file (or runs a query) synchronously",
        _PANDAS_INSTEAD,
    ),
    **_members(
        PANDAS_FRAMES,
        ("to_csv", "to_excel", "to_json", "to_parquet", "to_feather", "to_orc", "to_pickle",
         "to_hdf", "to_sql", "to_stata", "to_xml", "to_html", "to_latex", "to_markdown",
         "to_clipboard", "to_gbq"),
        "serialises the whole frame and writes it out synchronously",
        "await asyncio.to_thread(df.to_csv, ...)",
    ),
    **_each(
        ("pandas.ExcelFile", "pandas.ExcelWriter", "pandas.HDFStore",
         "pandas.io.pytables.HDFStore"),
        "opens (and for Excel parses) a file",
        _PANDAS_INSTEAD,
    ),
}

_MPL_INSTEAD = (
    "asyncio.to_thread with the object-oriented API (Figure + FigureCanvasAgg): "
    "pyplot's global state is not thread-safe"
)
MATPLOTLIB: Table = {
    **_each(
        ("matplotlib.pyplot.savefig", "matplotlib.pyplot.imsave", "matplotlib.pyplot.imread",
         "matplotlib.image.imsave", "matplotlib.image.imread",
         "matplotlib.figure.Figure.savefig", "matplotlib.figure.Figure.draw",
         "matplotlib.pyplot.draw",
         "matplotlib.backends.backend_agg.FigureCanvasAgg.draw",
         "matplotlib.backends.backend_agg.FigureCanvasAgg.print_png",
         "matplotlib.backends.backend_agg.FigureCanvasAgg.print_figure",
         "matplotlib.backend_bases.FigureCanvasBase.print_figure"),
        "renders the figure (rasterising every artist in CPU) and writes the image",
        _MPL_INSTEAD,
    ),
    **_each(
        ("matplotlib.pyplot.show", "matplotlib.pyplot.pause", "matplotlib.pyplot.ginput",
         "matplotlib.pyplot.waitforbuttonpress"),
        "runs a GUI event loop until the window closes (or sleeps, for pause)",
        "savefig to a buffer in asyncio.to_thread instead of showing windows in a server",
    ),
}

# --------------------------------------------------------------------------------------------
# Password hashing: slow on purpose (tens to hundreds of ms of CPU per call).
# --------------------------------------------------------------------------------------------

_HASH_WHY = "password hashing is slow by design (~0.1-0.5 s of CPU) and runs on the loop thread"
_HASH_INSTEAD = f"{TO_THREAD}: the C/Rust core releases the GIL, so a thread frees the loop"
BCRYPT: Table = _each(
    ("bcrypt.hashpw", "bcrypt.checkpw", "bcrypt.kdf"), _HASH_WHY, _HASH_INSTEAD
)
PASSLIB: Table = {
    **_members(
        ("passlib.context.CryptContext", "passlib.context.LazyCryptContext"),
        ("hash", "verify", "verify_and_update", "encrypt", "dummy_verify", "genhash"),
        _HASH_WHY,
        _HASH_INSTEAD,
    ),
    **_members(
        tuple(
            f"passlib.hash.{scheme}"
            for scheme in ("bcrypt", "bcrypt_sha256", "argon2", "scrypt", "pbkdf2_sha1",
                           "pbkdf2_sha256", "pbkdf2_sha512", "sha256_crypt", "sha512_crypt",
                           "django_pbkdf2_sha256", "ldap_pbkdf2_sha256")
        ),
        ("hash", "verify", "encrypt", "genhash"),
        _HASH_WHY,
        _HASH_INSTEAD,
    ),
}
ARGON2: Table = {
    **_members(
        ("argon2.PasswordHasher", "argon2._password_hasher.PasswordHasher"),
        ("hash", "verify"),
        "argon2 is memory- and time-hard by design (~50 ms+ of CPU and RAM per call)",
        _HASH_INSTEAD,
    ),
    **_each(
        ("argon2.low_level.hash_secret", "argon2.low_level.hash_secret_raw",
         "argon2.low_level.verify_secret", "argon2.hash_password", "argon2.hash_password_raw",
         "argon2.verify_password"),
        "argon2 is memory- and time-hard by design (~50 ms+ of CPU and RAM per call)",
        _HASH_INSTEAD,
    ),
}
# pwdlib: what the FastAPI tutorial uses today (argon2 / bcrypt underneath).
PWDLIB: Table = _members(
    ("pwdlib.PasswordHash", "pwdlib._hash.PasswordHash"),
    ("hash", "verify", "verify_and_update"),
    _HASH_WHY,
    _HASH_INSTEAD,
)
WERKZEUG: Table = _each(
    ("werkzeug.security.generate_password_hash", "werkzeug.security.check_password_hash"),
    "scrypt/pbkdf2 password hashing, slow by design",
    _HASH_INSTEAD,
)

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
# What does NOT block (exceptions to the entries above, and look-alikes worth stating).
# --------------------------------------------------------------------------------------------

NON_BLOCKING: Dict[str, str] = {
    # Already offloaded / async-native: the blocking callable is their argument, not them.
    **_quiet(
        ("asyncio.*", "anyio.*", "trio.*", "starlette.concurrency.*", "fastapi.concurrency.*",
         "aiofiles.*", "aiosqlite.*", "asyncpg.*", "aiohttp.*", "aiomysql.*", "asyncmy.*",
         "motor.*", "aioboto3.*", "aiobotocore.*", "aiosmtplib.*", "httpx.AsyncClient.*",
         "httpx._client.AsyncClient.*", "redis.asyncio.*", "sqlalchemy.ext.asyncio.*",
         "sqlmodel.ext.asyncio.*", "psycopg.AsyncConnection.*", "psycopg.AsyncCursor.*",
         "psycopg_pool.AsyncConnectionPool.*", "pymongo.asynchronous.*",
         "pymongo.AsyncMongoClient.*"),
        "async API or offloading helper: does not block the loop",
    ),
    # ---- stdlib
    **_quiet(
        ("os.path." + name for name in (
            "join", "basename", "dirname", "split", "splitext", "splitdrive", "splitroot",
            "normcase", "isabs", "commonpath", "commonprefix", "expandvars", "samestat")),
        "pure string manipulation on paths, no file-system access",
    ),
    # ruff's ASYNC240 flags normpath along with the stat-ing os.path functions, but it only
    # rewrites the string: a caller of it is not blocking.
    "os.path.normpath": "pure string manipulation (flagged by ruff ASYNC240 all the same)",
    **_quiet(
        ("os.getenv", "os.environ.get", "os.environ.__getitem__", "os.putenv", "os.getpid",
         "os.cpu_count", "os.fspath", "os.fsencode", "os.fsdecode", "os.urandom", "os.getuid",
         "os.kill", "os.strerror", "os.get_terminal_size"),
        "process state or a fast non-waiting system call",
    ),
    **_quiet(
        ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath.*",
         "pathlib.PurePosixPath.*", "pathlib.PureWindowsPath.*"),
        "building a path object does no I/O",
    ),
    **_quiet_members(
        PATH_CLASSES,
        ("joinpath", "with_suffix", "with_name", "with_stem", "with_segments", "relative_to",
         "is_relative_to", "as_posix", "as_uri", "match", "full_match", "is_absolute",
         "is_reserved", "name", "parent", "parents", "stem", "suffix", "suffixes", "anchor",
         "drive", "root", "parts", "__truediv__", "__rtruediv__", "__str__", "__fspath__",
         "from_uri"),
        "pure-path operation: string work, no file-system access",
    ),
    **_quiet(
        ("json.loads", "json.dumps", "json.JSONDecoder.*", "json.JSONEncoder.*"),
        "in-memory (de)serialisation",
    ),
    **_quiet(
        ("hashlib.sha1", "hashlib.sha224", "hashlib.sha256", "hashlib.sha384", "hashlib.sha512",
         "hashlib.md5", "hashlib.blake2b", "hashlib.blake2s", "hashlib.sha3_256",
         "hashlib.sha3_512", "hashlib.new", "hashlib.file_digest", "hmac.new", "hmac.digest",
         "hmac.compare_digest", "secrets.*", "bcrypt.gensalt"),
        "fast hashing / randomness (microseconds for request-sized inputs)",
    ),
    **_quiet(
        ("io.StringIO.*", "io.BytesIO.*", "io.StringIO", "io.BytesIO"),
        "in-memory buffer, no I/O",
    ),
    **_quiet(
        ("urllib.request.Request", "urllib.request.Request.*", "urllib.parse.*",
         "urllib.request.build_opener", "urllib.request.pathname2url",
         "urllib.request.url2pathname"),
        "builds a request or parses a URL; nothing is sent",
    ),
    **_quiet_members(
        ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
        ("set_debuglevel", "set_tunnel", "putheader", "putrequest"),
        "configuration / buffering only; the request is sent by endheaders()/request()",
    ),
    **_quiet_members(
        ("http.client.HTTPResponse",),
        ("getheader", "getheaders", "info", "geturl", "getcode", "fileno", "isclosed"),
        "reads already-parsed response metadata",
    ),
    **_quiet_members(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP", "ftplib.FTP", "ftplib.FTP_TLS"),
        ("set_debuglevel", "set_pasv", "has_extn"),
        "local configuration / state, no command is sent",
    ),
    **_quiet_members(
        ("socket.socket", "socket.SocketType"),
        ("setblocking", "settimeout", "gettimeout", "setsockopt", "getsockopt", "fileno",
         "getsockname", "getpeername", "bind", "listen", "close", "detach", "shutdown", "dup"),
        "local socket configuration, returns immediately",
    ),
    **_quiet_members(
        ("sqlite3.Connection",),
        ("cursor", "create_function", "create_aggregate", "create_collation",
         "set_authorizer", "set_progress_handler", "set_trace_callback", "row_factory"),
        "creates a cursor or registers a callback: no SQL is run",
    ),
    **_quiet_members(
        ("subprocess.Popen",),
        ("poll", "kill", "terminate", "send_signal"),
        "returns immediately (poll checks, the others send a signal)",
    ),
    **_quiet_members(
        ("zipfile.ZipFile",),
        ("namelist", "infolist", "getinfo", "setpassword", "printdir"),
        "reads the central directory already loaded by the constructor",
    ),
    **_quiet_members(
        ("tarfile.TarFile",),
        ("gettarinfo",),
        "stats one local file to build a header (cheap); the archive is not read",
    ),
    "tempfile.gettempdir": "cached after the first call (which probes the candidate directories)",
    **_quiet(
        ("time.time", "time.monotonic", "time.perf_counter", "time.time_ns", "time.strftime",
         "threading.Lock", "threading.Event", "threading.Event.set", "queue.Queue.get_nowait",
         "queue.Queue.put_nowait", "concurrent.futures.Future.done",
         "concurrent.futures.Future.cancel"),
        "returns immediately",
    ),
    # ---- requests: module-wide blocking, except what builds objects without sending them.
    **_quiet(
        ("requests.Session", "requests.sessions.Session", "requests.session",
         "requests.sessions.session", "requests.Request", "requests.models.Request",
         "requests.Request.*", "requests.models.Request.*", "requests.PreparedRequest",
         "requests.models.PreparedRequest", "requests.PreparedRequest.*",
         "requests.models.PreparedRequest.*", "requests.Response", "requests.models.Response",
         "requests.adapters.HTTPAdapter", "requests.adapters.HTTPAdapter.*",
         "requests.exceptions.*", "requests.structures.*", "requests.utils.*",
         "requests.auth.*", "requests.cookies.*", "requests.hooks.*", "requests.status_codes.*",
         "requests.codes.*", "requests.compat.*", "requests.certs.*", "requests.help.*"),
        "builds objects or parses data; nothing is sent until a request method is called",
    ),
    **_quiet(
        (f"requests.{name}" for name in (
            "RequestException", "HTTPError", "ConnectionError", "ConnectTimeout", "ReadTimeout",
            "Timeout", "TooManyRedirects", "URLRequired", "JSONDecodeError",
            "RequestsDependencyWarning", "FileModeWarning", "codes")),
        "exception class / constant: constructing it does no I/O",
    ),
    # Non-streamed responses are read in full by the request call itself.
    **_quiet(
        ("requests.Response.*", "requests.models.Response.*"),
        "the body was already read by the request (unless stream=True, see iter_content)",
    ),
    **_quiet_members(
        ("requests.Session", "requests.sessions.Session"),
        ("mount", "prepare_request", "get_adapter", "merge_environment_settings", "close",
         "__enter__", "__exit__"),
        "configuration / object building, no request is sent",
    ),
    # ---- httpx
    **_quiet(
        ("httpx.Client", "httpx._client.Client", "httpx.Request", "httpx.URL", "httpx.Headers",
         "httpx.Timeout", "httpx.Limits", "httpx.AsyncClient", "httpx._client.AsyncClient"),
        "constructing a client or request object does no I/O",
    ),
    **_quiet_members(
        ("httpx.Client", "httpx._client.Client"),
        ("build_request", "__enter__"),
        "builds a request object; nothing is sent",
    ),
    **_quiet_members(
        ("httpx.Response", "httpx._models.Response"),
        ("json", "raise_for_status", "aread", "aiter_bytes", "aiter_text", "aiter_lines",
         "aiter_raw", "aclose"),
        "works on an already-read body, or is the async form",
    ),
    # ---- urllib3
    **_quiet(
        _URLLIB3_CLASSES + ("urllib3.connection_from_url", "urllib3.util.*",
                            "urllib3.exceptions.*"),
        "builds a pool / parses data; no connection is made until a request",
    ),
    # ---- SQLAlchemy / SQLModel: bookkeeping methods and statement construction.
    **_quiet_members(
        SQLALCHEMY_SESSIONS + SQLMODEL_SESSIONS,
        ("add", "add_all", "expunge", "expunge_all", "begin", "expire", "expire_all",
         "is_modified", "in_transaction", "in_nested_transaction", "get_bind", "get_transaction",
         "get_nested_transaction", "enable_relationship_loading", "bind_mapper", "bind_table",
         "identity_key", "no_autoflush", "__enter__", "__contains__", "__iter__", "info",
         "registry", "configure", "remove_session_factory"),
        "bookkeeping in memory: no SQL until flush/commit/execute (add() does not autoflush; "
        "begin() starts the transaction lazily, on first use)",
    ),
    **_quiet(
        ("sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker",
         "sqlalchemy.orm.sessionmaker.*", "sqlalchemy.orm.session.sessionmaker.*",
         "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session",
         "sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session",
         "sqlmodel.Session", "sqlmodel.orm.session.Session",
         "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine",
         "sqlalchemy.engine.create.create_engine"),
        "constructing a session (factory) or an engine connects lazily: no I/O yet",
    ),
    **_quiet(
        ("sqlalchemy.select", "sqlalchemy.text", "sqlalchemy.insert", "sqlalchemy.update",
         "sqlalchemy.delete", "sqlalchemy.func", "sqlalchemy.and_", "sqlalchemy.or_",
         "sqlalchemy.not_", "sqlalchemy.column", "sqlalchemy.table", "sqlalchemy.literal",
         "sqlalchemy.bindparam", "sqlalchemy.Column", "sqlalchemy.Table", "sqlalchemy.MetaData",
         "sqlalchemy.sql.*", "sqlalchemy.orm.selectinload", "sqlalchemy.orm.joinedload",
         "sqlalchemy.orm.relationship", "sqlalchemy.orm.mapped_column", "sqlalchemy.orm.Mapped",
         "sqlmodel.select", "sqlmodel.col", "sqlmodel.Field", "sqlmodel.Relationship",
         "sqlmodel.SQLModel", "sqlmodel.sql.*", "sqlalchemy.exc.*"),
        "builds a SQL statement / schema object; nothing runs until executed",
    ),
    # Results are buffered client-side: after `await session.execute(...)`, .all()/.scalars()
    # on the result are plain in-memory calls and must not be flagged.
    **_quiet(
        ("sqlalchemy.engine.Result.*", "sqlalchemy.engine.result.Result.*",
         "sqlalchemy.engine.ScalarResult.*", "sqlalchemy.engine.result.ScalarResult.*",
         "sqlalchemy.engine.CursorResult.*", "sqlalchemy.engine.cursor.CursorResult.*",
         "sqlalchemy.Result.*", "sqlalchemy.ScalarResult.*", "sqlalchemy.engine.Row.*",
         "sqlalchemy.Row.*"),
        "iterates an already-fetched (buffered) result",
    ),
    **_quiet_members(
        SQLALCHEMY_ENGINES,
        ("execution_options", "get_execution_options", "update_execution_options",
         "clear_compiled_cache", "url", "dialect", "pool", "__repr__"),
        "engine configuration, no connection is checked out",
    ),
    **_quiet_members(
        SQLALCHEMY_CONNECTIONS,
        ("execution_options", "get_execution_options", "in_transaction",
         "in_nested_transaction", "get_transaction", "get_nested_transaction", "begin",
         "__enter__", "info"),
        "state/configuration; begin() relies on the DBAPI's implicit BEGIN (no round trip)",
    ),
    **_quiet_members(
        ("sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"),
        ("filter", "filter_by", "order_by", "join", "outerjoin", "options", "limit", "offset",
         "group_by", "having", "distinct", "where", "subquery", "statement", "with_entities",
         "select_from", "add_columns", "correlate", "params"),
        "refines the query; nothing runs until all()/first()/iteration",
    ),
    # ---- psycopg2 / psycopg / pymysql
    **_quiet_members(
        PSYCOPG2_CONNECTIONS + PSYCOPG_CONNECTIONS + PYMYSQL_CONNECTIONS,
        ("cursor", "get_transaction_status", "get_parameter_status", "get_dsn_parameters",
         "escape", "escape_string", "literal", "fileno", "xid", "get_backend_pid"),
        "creates a cursor object or reads local state; no round trip",
    ),
    **_quiet_members(
        PSYCOPG2_CURSORS + PSYCOPG_CURSORS + PYMYSQL_CURSORS,
        ("mogrify", "setinputsizes", "setoutputsize", "__enter__"),
        "formats the query locally / no-op",
    ),
    **_quiet(
        ("psycopg2.extensions.register_type", "psycopg2.extensions.register_adapter",
         "psycopg2.extras.Json", "psycopg2.sql.*", "psycopg.sql.*", "psycopg.types.*",
         "psycopg_pool.ConnectionPool", "psycopg_pool.pool.ConnectionPool",
         "psycopg_pool.NullConnectionPool", "pymysql.escape_string", "pymysql.converters.*"),
        "adapter registration / query composition / background-opening pool constructor",
    ),
    # ---- pymongo: accessors and cursor builders.
    **_quiet(
        PYMONGO_CLIENTS + ("pymongo.UpdateOne", "pymongo.InsertOne", "pymongo.DeleteOne",
                           "pymongo.ReplaceOne", "pymongo.UpdateMany", "pymongo.DeleteMany",
                           "pymongo.IndexModel", "pymongo.errors.*", "bson.*"),
        "MongoClient connects in the background; operation/index models are plain objects",
    ),
    **_quiet_members(
        PYMONGO_CLIENTS + PYMONGO_DATABASES,
        ("get_database", "get_default_database", "get_collection", "with_options",
         "__getitem__", "__getattr__", "codec_options", "read_preference", "write_concern"),
        "returns a handle; no command is sent",
    ),
    **_quiet_members(
        PYMONGO_COLLECTIONS,
        ("with_options", "__getitem__", "__getattr__", "get_collection"),
        "returns a handle; no command is sent",
    ),
    **_quiet_members(
        PYMONGO_CURSORS,
        ("sort", "limit", "skip", "where", "hint", "batch_size", "max_time_ms", "collation",
         "comment", "allow_disk_use", "clone", "add_option", "remove_option", "min", "max",
         "max_await_time_ms", "alive", "cursor_id", "address"),
        "refines the query locally; nothing is sent until iteration",
    ),
    # ---- redis: factories and object builders.
    **_quiet(
        ("redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
         "redis.from_url", "redis.ConnectionPool", "redis.connection.ConnectionPool",
         "redis.BlockingConnectionPool", "redis.exceptions.*", "redis.sentinel.Sentinel"),
        "client / pool construction connects lazily, on the first command",
    ),
    **_quiet_members(
        REDIS_CLIENTS,
        ("from_url", "from_pool", "pipeline", "pubsub", "lock", "register_script",
         "get_connection_kwargs", "get_encoder", "set_response_callback", "get_retry",
         "set_retry", "monitor", "__enter__", "client"),
        "builds a helper object (pipeline, lock, script, pubsub): no command sent yet",
    ),
    **_quiet_members(
        ("redis.sentinel.Sentinel",),
        ("master_for", "slave_for"),
        "builds a client that discovers the server lazily",
    ),
    # ---- boto3
    **_quiet(
        ("boto3.Session", "boto3.session.Session", "boto3.set_stream_logger",
         "botocore.config.Config", "botocore.exceptions.*", "boto3.exceptions.*",
         "boto3.dynamodb.conditions.*"),
        "configuration objects; credentials and models are loaded when a client is made",
    ),
    **_quiet_members(
        ("botocore.client.BaseClient",),
        ("can_paginate", "get_paginator", "get_waiter", "meta", "exceptions",
         "generate_presigned_url", "generate_presigned_post", "close"),
        "local helpers: presigning signs locally, paginators/waiters are lazy",
    ),
    # ---- data / imaging
    **_quiet(
        ("pandas.DataFrame", "pandas.Series", "pandas.concat", "pandas.to_datetime",
         "pandas.DataFrame.to_dict", "pandas.DataFrame.to_records", "pandas.DataFrame.to_numpy",
         "pandas.Series.to_dict", "pandas.Series.to_list", "pandas.Series.to_numpy"),
        "in-memory construction / conversion",
    ),
    **_quiet(
        ("PIL.Image.new", "PIL.ImageDraw.Draw", "PIL.ImageFont.load_default"),
        "allocates an image / drawing context in memory",
    ),
    **_quiet_members(
        PIL_IMAGES,
        ("size", "mode", "info", "getbbox", "getpixel", "putpixel", "close", "getexif",
         "__enter__"),
        "reads image metadata or one pixel",
    ),
    **_quiet(
        ("matplotlib.pyplot.figure", "matplotlib.pyplot.subplots", "matplotlib.pyplot.plot",
         "matplotlib.pyplot.close", "matplotlib.figure.Figure", "matplotlib.use"),
        "builds the artist tree; rendering happens at savefig/draw",
    ),
    # ---- password hashing look-alikes
    **_quiet(
        ("passlib.context.CryptContext", "passlib.context.CryptContext.identify",
         "passlib.context.CryptContext.needs_update", "argon2.PasswordHasher",
         "argon2.PasswordHasher.check_needs_rehash", "pwdlib.PasswordHash",
         "pwdlib.PasswordHash.recommended"),
        "configures the hasher or parses a hash string: no hashing",
    ),
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
    **{name: "io.TextIOWrapper"
       for name in ("builtins.open", "io.open", "codecs.open", "os.fdopen")},
    **{f"{cls}.open": "io.TextIOWrapper" for cls in PATH_CLASSES},
    **{name: "io.BufferedIOBase" for name in (
        "gzip.open", "bz2.open", "lzma.open", "zipfile.ZipFile.open",
        "tarfile.TarFile.extractfile", "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile",
    )},
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
    **{f"{cls}.{verb}": "requests.models.Response"
       for cls in ("requests.Session", "requests.sessions.Session")
       for verb in _HTTP_VERBS + ("send",)},
    **{f"httpx.{verb}": "httpx.Response" for verb in _HTTP_VERBS},
    **{f"{cls}.{verb}": "httpx.Response"
       for cls in ("httpx.Client", "httpx._client.Client") for verb in _HTTP_VERBS + ("send",)},
    "urllib3.request": "urllib3.response.HTTPResponse",
    **{f"{cls}.{method}": "urllib3.response.HTTPResponse"
       for cls in _URLLIB3_CLASSES
       for method in ("request", "urlopen", "request_encode_url", "request_encode_body")},
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
    **{name: "sqlalchemy.engine.Engine" for name in (
        "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine.create.create_engine", "sqlmodel.create_engine",
    )},
    **{f"{engine}.{method}": "sqlalchemy.engine.Connection"
       for engine in SQLALCHEMY_ENGINES for method in ("connect", "begin")},
    **{f"{session}.query": "sqlalchemy.orm.Query"
       for session in SQLALCHEMY_SESSIONS + SQLMODEL_SESSIONS},
    # NoSQL
    **{f"{client}.{method}": "pymongo.database.Database"
       for client in PYMONGO_CLIENTS for method in ("get_database", "get_default_database")},
    **{f"{database}.get_collection": "pymongo.collection.Collection"
       for database in PYMONGO_DATABASES},
    **{f"{collection}.{method}": cursor
       for collection in PYMONGO_COLLECTIONS
       for method, cursor in (("find", "pymongo.cursor.Cursor"),
                              ("aggregate", "pymongo.command_cursor.CommandCursor"))},
    **{f"{factory}": "redis.client.Redis" for factory in (
        "redis.from_url", "redis.Redis.from_url", "redis.client.Redis.from_url",
        "redis.StrictRedis.from_url", "redis.client.StrictRedis.from_url",
        "redis.Redis.from_pool", "redis.client.Redis.from_pool",
    )},
    **{f"{client}.pipeline": "redis.client.Pipeline" for client in REDIS_CLIENTS[:4]},
    **{f"{client}.pubsub": "redis.client.PubSub" for client in REDIS_CLIENTS[:4]},
    **{f"{client}.lock": "redis.lock.Lock" for client in REDIS_CLIENTS[:4]},
    "redis.sentinel.Sentinel.master_for": "redis.client.Redis",
    "redis.sentinel.Sentinel.slave_for": "redis.client.Redis",
    # cloud / data / imaging
    **{name: "botocore.client.BaseClient" for name in (
        "boto3.client", "boto3.Session.client", "boto3.session.Session.client",
    )},
    "botocore.client.BaseClient.get_waiter": "botocore.waiter.Waiter",
    **{name: "pandas.DataFrame" for name in PANDAS_READERS},
    **{name: "PIL.Image.Image" for name in (
        "PIL.Image.open", "PIL.Image.new", "PIL.Image.frombytes", "PIL.Image.frombuffer",
        "PIL.Image.fromarray",
    )},
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
