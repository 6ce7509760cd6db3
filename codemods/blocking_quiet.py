"""What does NOT block: the exceptions to the blocking tables, and look-alikes worth stating."""

from __future__ import annotations

from typing import Dict

from .blocking_compute import PIL_IMAGES
from .blocking_entries import quiet, quiet_members
from .blocking_services import (
    PSYCOPG2_CONNECTIONS,
    PSYCOPG2_CURSORS,
    PSYCOPG_CONNECTIONS,
    PSYCOPG_CURSORS,
    PYMONGO_CLIENTS,
    PYMONGO_COLLECTIONS,
    PYMONGO_CURSORS,
    PYMONGO_DATABASES,
    PYMYSQL_CONNECTIONS,
    PYMYSQL_CURSORS,
    REDIS_CLIENTS,
    SQLALCHEMY_CONNECTIONS,
    SQLALCHEMY_ENGINES,
    SQLALCHEMY_SESSIONS,
    SQLMODEL_SESSIONS,
    URLLIB3_CLASSES,
)
from .blocking_stdlib import PATH_CLASSES

# --------------------------------------------------------------------------------------------
# What does NOT block (exceptions to the entries above, and look-alikes worth stating).
# --------------------------------------------------------------------------------------------

NON_BLOCKING: Dict[str, str] = {
    # Already offloaded / async-native: the blocking callable is their argument, not them.
    **quiet(
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
    **quiet(
        ("os.path." + name for name in (
            "join", "basename", "dirname", "split", "splitext", "splitdrive", "splitroot",
            "normcase", "isabs", "commonpath", "commonprefix", "expandvars", "samestat")),
        "pure string manipulation on paths, no file-system access",
    ),
    # ruff's ASYNC240 flags normpath along with the stat-ing os.path functions, but it only
    # rewrites the string: a caller of it is not blocking.
    "os.path.normpath": "pure string manipulation (flagged by ruff ASYNC240 all the same)",
    **quiet(
        ("os.getenv", "os.environ.get", "os.environ.__getitem__", "os.putenv", "os.getpid",
         "os.cpu_count", "os.fspath", "os.fsencode", "os.fsdecode", "os.urandom", "os.getuid",
         "os.kill", "os.strerror", "os.get_terminal_size"),
        "process state or a fast non-waiting system call",
    ),
    **quiet(
        ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath.*",
         "pathlib.PurePosixPath.*", "pathlib.PureWindowsPath.*"),
        "building a path object does no I/O",
    ),
    **quiet_members(
        PATH_CLASSES,
        ("joinpath", "with_suffix", "with_name", "with_stem", "with_segments", "relative_to",
         "is_relative_to", "as_posix", "as_uri", "match", "full_match", "is_absolute",
         "is_reserved", "name", "parent", "parents", "stem", "suffix", "suffixes", "anchor",
         "drive", "root", "parts", "__truediv__", "__rtruediv__", "__str__", "__fspath__",
         "from_uri"),
        "pure-path operation: string work, no file-system access",
    ),
    **quiet(
        ("json.loads", "json.dumps", "json.JSONDecoder.*", "json.JSONEncoder.*"),
        "in-memory (de)serialisation",
    ),
    **quiet(
        ("hashlib.sha1", "hashlib.sha224", "hashlib.sha256", "hashlib.sha384", "hashlib.sha512",
         "hashlib.md5", "hashlib.blake2b", "hashlib.blake2s", "hashlib.sha3_256",
         "hashlib.sha3_512", "hashlib.new", "hashlib.file_digest", "hmac.new", "hmac.digest",
         "hmac.compare_digest", "secrets.*", "bcrypt.gensalt"),
        "fast hashing / randomness (microseconds for request-sized inputs)",
    ),
    **quiet(
        ("io.StringIO.*", "io.BytesIO.*", "io.StringIO", "io.BytesIO"),
        "in-memory buffer, no I/O",
    ),
    **quiet(
        ("urllib.request.Request", "urllib.request.Request.*", "urllib.parse.*",
         "urllib.request.build_opener", "urllib.request.pathname2url",
         "urllib.request.url2pathname"),
        "builds a request or parses a URL; nothing is sent",
    ),
    **quiet_members(
        ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
        ("set_debuglevel", "set_tunnel", "putheader", "putrequest"),
        "configuration / buffering only; the request is sent by endheaders()/request()",
    ),
    **quiet_members(
        ("http.client.HTTPResponse",),
        ("getheader", "getheaders", "info", "geturl", "getcode", "fileno", "isclosed"),
        "reads already-parsed response metadata",
    ),
    **quiet_members(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP", "ftplib.FTP", "ftplib.FTP_TLS"),
        ("set_debuglevel", "set_pasv", "has_extn"),
        "local configuration / state, no command is sent",
    ),
    **quiet_members(
        ("socket.socket", "socket.SocketType"),
        ("setblocking", "settimeout", "gettimeout", "setsockopt", "getsockopt", "fileno",
         "getsockname", "getpeername", "bind", "listen", "close", "detach", "shutdown", "dup"),
        "local socket configuration, returns immediately",
    ),
    **quiet_members(
        ("sqlite3.Connection",),
        ("cursor", "create_function", "create_aggregate", "create_collation",
         "set_authorizer", "set_progress_handler", "set_trace_callback", "row_factory"),
        "creates a cursor or registers a callback: no SQL is run",
    ),
    **quiet_members(
        ("subprocess.Popen",),
        ("poll", "kill", "terminate", "send_signal"),
        "returns immediately (poll checks, the others send a signal)",
    ),
    **quiet_members(
        ("zipfile.ZipFile",),
        ("namelist", "infolist", "getinfo", "setpassword", "printdir"),
        "reads the central directory already loaded by the constructor",
    ),
    **quiet_members(
        ("tarfile.TarFile",),
        ("gettarinfo",),
        "stats one local file to build a header (cheap); the archive is not read",
    ),
    "tempfile.gettempdir": "cached after the first call (which probes the candidate directories)",
    **quiet(
        ("time.time", "time.monotonic", "time.perf_counter", "time.time_ns", "time.strftime",
         "threading.Lock", "threading.Event", "threading.Event.set", "queue.Queue.get_nowait",
         "queue.Queue.put_nowait", "concurrent.futures.Future.done",
         "concurrent.futures.Future.cancel"),
        "returns immediately",
    ),
    # ---- requests: module-wide blocking, except what builds objects without sending them.
    **quiet(
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
    **quiet(
        (f"requests.{name}" for name in (
            "RequestException", "HTTPError", "ConnectionError", "ConnectTimeout", "ReadTimeout",
            "Timeout", "TooManyRedirects", "URLRequired", "JSONDecodeError",
            "RequestsDependencyWarning", "FileModeWarning", "codes")),
        "exception class / constant: constructing it does no I/O",
    ),
    # Non-streamed responses are read in full by the request call itself.
    **quiet(
        ("requests.Response.*", "requests.models.Response.*"),
        "the body was already read by the request (unless stream=True, see iter_content)",
    ),
    **quiet_members(
        ("requests.Session", "requests.sessions.Session"),
        ("mount", "prepare_request", "get_adapter", "merge_environment_settings", "close",
         "__enter__", "__exit__"),
        "configuration / object building, no request is sent",
    ),
    # ---- httpx
    **quiet(
        ("httpx.Client", "httpx._client.Client", "httpx.Request", "httpx.URL", "httpx.Headers",
         "httpx.Timeout", "httpx.Limits", "httpx.AsyncClient", "httpx._client.AsyncClient"),
        "constructing a client or request object does no I/O",
    ),
    **quiet_members(
        ("httpx.Client", "httpx._client.Client"),
        ("build_request", "__enter__"),
        "builds a request object; nothing is sent",
    ),
    **quiet_members(
        ("httpx.Response", "httpx._models.Response"),
        ("json", "raise_for_status", "aread", "aiter_bytes", "aiter_text", "aiter_lines",
         "aiter_raw", "aclose"),
        "works on an already-read body, or is the async form",
    ),
    # ---- urllib3
    **quiet(
        URLLIB3_CLASSES + ("urllib3.connection_from_url", "urllib3.util.*",
                            "urllib3.exceptions.*"),
        "builds a pool / parses data; no connection is made until a request",
    ),
    # ---- SQLAlchemy / SQLModel: bookkeeping methods and statement construction.
    **quiet_members(
        SQLALCHEMY_SESSIONS + SQLMODEL_SESSIONS,
        ("add", "add_all", "expunge", "expunge_all", "begin", "expire", "expire_all",
         "is_modified", "in_transaction", "in_nested_transaction", "get_bind", "get_transaction",
         "get_nested_transaction", "enable_relationship_loading", "bind_mapper", "bind_table",
         "identity_key", "no_autoflush", "__enter__", "__contains__", "__iter__", "info",
         "registry", "configure", "remove_session_factory"),
        "bookkeeping in memory: no SQL until flush/commit/execute (add() does not autoflush; "
        "begin() starts the transaction lazily, on first use)",
    ),
    **quiet(
        ("sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker",
         "sqlalchemy.orm.sessionmaker.*", "sqlalchemy.orm.session.sessionmaker.*",
         "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session",
         "sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session",
         "sqlmodel.Session", "sqlmodel.orm.session.Session",
         "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine",
         "sqlalchemy.engine.create.create_engine"),
        "constructing a session (factory) or an engine connects lazily: no I/O yet",
    ),
    **quiet(
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
    **quiet(
        ("sqlalchemy.engine.Result.*", "sqlalchemy.engine.result.Result.*",
         "sqlalchemy.engine.ScalarResult.*", "sqlalchemy.engine.result.ScalarResult.*",
         "sqlalchemy.engine.CursorResult.*", "sqlalchemy.engine.cursor.CursorResult.*",
         "sqlalchemy.Result.*", "sqlalchemy.ScalarResult.*", "sqlalchemy.engine.Row.*",
         "sqlalchemy.Row.*"),
        "iterates an already-fetched (buffered) result",
    ),
    **quiet_members(
        SQLALCHEMY_ENGINES,
        ("execution_options", "get_execution_options", "update_execution_options",
         "clear_compiled_cache", "url", "dialect", "pool", "__repr__"),
        "engine configuration, no connection is checked out",
    ),
    **quiet_members(
        SQLALCHEMY_CONNECTIONS,
        ("execution_options", "get_execution_options", "in_transaction",
         "in_nested_transaction", "get_transaction", "get_nested_transaction", "begin",
         "__enter__", "info"),
        "state/configuration; begin() relies on the DBAPI's implicit BEGIN (no round trip)",
    ),
    **quiet_members(
        ("sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"),
        ("filter", "filter_by", "order_by", "join", "outerjoin", "options", "limit", "offset",
         "group_by", "having", "distinct", "where", "subquery", "statement", "with_entities",
         "select_from", "add_columns", "correlate", "params"),
        "refines the query; nothing runs until all()/first()/iteration",
    ),
    # ---- psycopg2 / psycopg / pymysql
    **quiet_members(
        PSYCOPG2_CONNECTIONS + PSYCOPG_CONNECTIONS + PYMYSQL_CONNECTIONS,
        ("cursor", "get_transaction_status", "get_parameter_status", "get_dsn_parameters",
         "escape", "escape_string", "literal", "fileno", "xid", "get_backend_pid"),
        "creates a cursor object or reads local state; no round trip",
    ),
    **quiet_members(
        PSYCOPG2_CURSORS + PSYCOPG_CURSORS + PYMYSQL_CURSORS,
        ("mogrify", "setinputsizes", "setoutputsize", "__enter__"),
        "formats the query locally / no-op",
    ),
    **quiet(
        ("psycopg2.extensions.register_type", "psycopg2.extensions.register_adapter",
         "psycopg2.extras.Json", "psycopg2.sql.*", "psycopg.sql.*", "psycopg.types.*",
         "psycopg_pool.ConnectionPool", "psycopg_pool.pool.ConnectionPool",
         "psycopg_pool.NullConnectionPool", "pymysql.escape_string", "pymysql.converters.*"),
        "adapter registration / query composition / background-opening pool constructor",
    ),
    # ---- pymongo: accessors and cursor builders.
    **quiet(
        PYMONGO_CLIENTS + ("pymongo.UpdateOne", "pymongo.InsertOne", "pymongo.DeleteOne",
                           "pymongo.ReplaceOne", "pymongo.UpdateMany", "pymongo.DeleteMany",
                           "pymongo.IndexModel", "pymongo.errors.*", "bson.*"),
        "MongoClient connects in the background; operation/index models are plain objects",
    ),
    **quiet_members(
        PYMONGO_CLIENTS + PYMONGO_DATABASES,
        ("get_database", "get_default_database", "get_collection", "with_options",
         "__getitem__", "__getattr__", "codec_options", "read_preference", "write_concern"),
        "returns a handle; no command is sent",
    ),
    **quiet_members(
        PYMONGO_COLLECTIONS,
        ("with_options", "__getitem__", "__getattr__", "get_collection"),
        "returns a handle; no command is sent",
    ),
    **quiet_members(
        PYMONGO_CURSORS,
        ("sort", "limit", "skip", "where", "hint", "batch_size", "max_time_ms", "collation",
         "comment", "allow_disk_use", "clone", "add_option", "remove_option", "min", "max",
         "max_await_time_ms", "alive", "cursor_id", "address"),
        "refines the query locally; nothing is sent until iteration",
    ),
    # ---- redis: factories and object builders.
    **quiet(
        ("redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
         "redis.from_url", "redis.ConnectionPool", "redis.connection.ConnectionPool",
         "redis.BlockingConnectionPool", "redis.exceptions.*", "redis.sentinel.Sentinel"),
        "client / pool construction connects lazily, on the first command",
    ),
    **quiet_members(
        REDIS_CLIENTS,
        ("from_url", "from_pool", "pipeline", "pubsub", "lock", "register_script",
         "get_connection_kwargs", "get_encoder", "set_response_callback", "get_retry",
         "set_retry", "monitor", "__enter__", "client"),
        "builds a helper object (pipeline, lock, script, pubsub): no command sent yet",
    ),
    **quiet_members(
        ("redis.sentinel.Sentinel",),
        ("master_for", "slave_for"),
        "builds a client that discovers the server lazily",
    ),
    # ---- boto3
    **quiet(
        ("boto3.Session", "boto3.session.Session", "boto3.set_stream_logger",
         "botocore.config.Config", "botocore.exceptions.*", "boto3.exceptions.*",
         "boto3.dynamodb.conditions.*"),
        "configuration objects; credentials and models are loaded when a client is made",
    ),
    **quiet_members(
        ("botocore.client.BaseClient",),
        ("can_paginate", "get_paginator", "get_waiter", "meta", "exceptions",
         "generate_presigned_url", "generate_presigned_post", "close"),
        "local helpers: presigning signs locally, paginators/waiters are lazy",
    ),
    # ---- data / imaging
    **quiet(
        ("pandas.DataFrame", "pandas.Series", "pandas.concat", "pandas.to_datetime",
         "pandas.DataFrame.to_dict", "pandas.DataFrame.to_records", "pandas.DataFrame.to_numpy",
         "pandas.Series.to_dict", "pandas.Series.to_list", "pandas.Series.to_numpy"),
        "in-memory construction / conversion",
    ),
    **quiet(
        ("PIL.Image.new", "PIL.ImageDraw.Draw", "PIL.ImageFont.load_default"),
        "allocates an image / drawing context in memory",
    ),
    **quiet_members(
        PIL_IMAGES,
        ("size", "mode", "info", "getbbox", "getpixel", "putpixel", "close", "getexif",
         "__enter__"),
        "reads image metadata or one pixel",
    ),
    **quiet(
        ("matplotlib.pyplot.figure", "matplotlib.pyplot.subplots", "matplotlib.pyplot.plot",
         "matplotlib.pyplot.close", "matplotlib.figure.Figure", "matplotlib.use"),
        "builds the artist tree; rendering happens at savefig/draw",
    ),
    # ---- password hashing look-alikes
    **quiet(
        ("passlib.context.CryptContext", "passlib.context.CryptContext.identify",
         "passlib.context.CryptContext.needs_update", "argon2.PasswordHasher",
         "argon2.PasswordHasher.check_needs_rehash", "pwdlib.PasswordHash",
         "pwdlib.PasswordHash.recommended"),
        "configures the hasher or parses a hash string: no hashing",
    ),
}
