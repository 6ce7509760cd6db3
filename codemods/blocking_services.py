"""Blocking tables: the database clients, SQL (SQLAlchemy, SQLModel, DBAPI drivers) and NoSQL
servers. The HTTP clients are blocking_http.py."""

from __future__ import annotations

from .blocking_entries import Table, each, members, wide

# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------

_SQL_WHY = "runs SQL on a synchronous DBAPI connection: a network (or disk) round trip"
_SESSION_INSTEAD = "AsyncSession (sqlalchemy.ext.asyncio): await session.execute(...)"
SQLALCHEMY_SESSIONS = (
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session",
    "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session",
)
SQLALCHEMY_ENGINES = (
    "sqlalchemy.Engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.base.Engine",
)
SQLALCHEMY_CONNECTIONS = (
    "sqlalchemy.Connection",
    "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.base.Connection",
)
SQLALCHEMY_METADATA = (
    "sqlalchemy.MetaData",
    "sqlalchemy.schema.MetaData",
    "sqlalchemy.sql.schema.MetaData",
)
SQLALCHEMY: Table = {
    # Every Session method except the bookkeeping ones in NON_BLOCKING (add, expunge, begin...):
    # execute/scalars/get/commit/flush/refresh/merge/delete/close... all talk to the database.
    **wide(SQLALCHEMY_SESSIONS, _SQL_WHY, _SESSION_INSTEAD),
    # The legacy Query runs when a terminal method is called (or it is iterated).
    **members(
        ("sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"),
        (
            "all",
            "first",
            "one",
            "one_or_none",
            "scalar",
            "count",
            "get",
            "delete",
            "update",
            "__iter__",
            "yield_per",
            "exists_",
            "with_for_update_execute",
        ),
        "runs the query on the session's synchronous connection",
        "select(...) with await AsyncSession.execute / .scalars (Query has no async form)",
    ),
    # Engine: connect/begin check a connection out of the pool (may open a new one).
    **wide(
        SQLALCHEMY_ENGINES,
        "checks a DBAPI connection out of the pool (may open a new network connection) or runs SQL",
        "create_async_engine(...): async with engine.connect() / engine.begin()",
    ),
    **wide(
        SQLALCHEMY_CONNECTIONS,
        _SQL_WHY,
        "AsyncConnection: await conn.execute(...)",
    ),
    **members(
        SQLALCHEMY_METADATA,
        ("create_all", "drop_all", "reflect"),
        "runs DDL / reflection queries on a synchronous connection",
        "async with engine.begin() as conn: await conn.run_sync(metadata.create_all)",
    ),
    **each(
        (
            "sqlalchemy.Table.create",
            "sqlalchemy.Table.drop",
            "sqlalchemy.schema.Table.create",
            "sqlalchemy.schema.Table.drop",
        ),
        "runs DDL on a synchronous connection",
        "await conn.run_sync(table.create)",
    ),
}

SQLMODEL_SESSIONS = ("sqlmodel.Session", "sqlmodel.orm.session.Session")
SQLMODEL: Table = {
    # sqlmodel.Session is a sqlalchemy Session plus exec(): same rules.
    **wide(
        SQLMODEL_SESSIONS,
        _SQL_WHY,
        "sqlmodel.ext.asyncio.session.AsyncSession: await session.exec(...)",
    ),
    **members(
        ("sqlmodel.SQLModel.metadata",),
        ("create_all", "drop_all", "reflect"),
        "runs DDL on a synchronous connection",
        "async with engine.begin() as conn: await conn.run_sync(SQLModel.metadata.create_all)",
    ),
}

_PSYCOPG2_INSTEAD = "psycopg 3 (await psycopg.AsyncConnection.connect(...)) or asyncpg"
PSYCOPG2_CONNECTIONS = ("psycopg2.extensions.connection", "psycopg2._psycopg.connection")
PSYCOPG2_CURSORS = (
    "psycopg2.extensions.cursor",
    "psycopg2._psycopg.cursor",
    "psycopg2.extras.DictCursor",
    "psycopg2.extras.RealDictCursor",
    "psycopg2.extras.NamedTupleCursor",
)
PSYCOPG2: Table = {
    **each(
        ("psycopg2.connect", "psycopg2.extensions.connection", "psycopg2._psycopg.connection"),
        "opens a PostgreSQL connection: TCP, TLS and authentication round trips",
        _PSYCOPG2_INSTEAD,
    ),
    **members(
        PSYCOPG2_CONNECTIONS,
        (
            "commit",
            "rollback",
            "close",
            "cancel",
            "reset",
            "set_session",
            "set_isolation_level",
            "set_client_encoding",
            "lobject",
            "tpc_begin",
            "tpc_prepare",
            "tpc_commit",
            "tpc_rollback",
            "tpc_recover",
            "poll",
        ),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **members(
        PSYCOPG2_CURSORS,
        (
            "execute",
            "executemany",
            "callproc",
            "fetchone",
            "fetchmany",
            "fetchall",
            "scroll",
            "copy_from",
            "copy_to",
            "copy_expert",
            "close",
            "__iter__",
            "__next__",
        ),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **each(
        ("psycopg2.extras.execute_batch", "psycopg2.extras.execute_values"),
        _SQL_WHY,
        _PSYCOPG2_INSTEAD,
    ),
    **each(
        ("psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool"),
        "opens `minconn` connections in the constructor",
        "psycopg_pool.AsyncConnectionPool or asyncpg.create_pool",
    ),
    **members(
        (
            "psycopg2.pool.SimpleConnectionPool",
            "psycopg2.pool.ThreadedConnectionPool",
            "psycopg2.pool.AbstractConnectionPool",
        ),
        ("getconn", "putconn", "closeall"),
        "may open, reset or close PostgreSQL connections",
        "psycopg_pool.AsyncConnectionPool or asyncpg.create_pool",
    ),
}

_PSYCOPG_INSTEAD = "psycopg.AsyncConnection / AsyncCursor (await conn.execute(...))"
PSYCOPG_CONNECTIONS = ("psycopg.Connection", "psycopg.connection.Connection")
PSYCOPG_CURSORS = (
    "psycopg.Cursor",
    "psycopg.cursor.Cursor",
    "psycopg.ClientCursor",
    "psycopg.client_cursor.ClientCursor",
    "psycopg.ServerCursor",
    "psycopg.server_cursor.ServerCursor",
    "psycopg.RawCursor",
    "psycopg.raw_cursor.RawCursor",
)
PSYCOPG: Table = {
    **each(
        ("psycopg.connect", "psycopg.Connection.connect", "psycopg.connection.Connection.connect"),
        "opens a PostgreSQL connection: TCP, TLS and authentication round trips",
        "await psycopg.AsyncConnection.connect(...)",
    ),
    **members(
        PSYCOPG_CONNECTIONS,
        (
            "execute",
            "commit",
            "rollback",
            "close",
            "cancel",
            "cancel_safe",
            "transaction",
            "pipeline",
            "notifies",
            "set_autocommit",
            "set_isolation_level",
            "set_read_only",
            "set_deferrable",
            "tpc_begin",
            "tpc_prepare",
            "tpc_commit",
            "tpc_rollback",
            "tpc_recover",
            "wait",
        ),
        _SQL_WHY,
        _PSYCOPG_INSTEAD,
    ),
    **members(
        PSYCOPG_CURSORS,
        (
            "execute",
            "executemany",
            "fetchone",
            "fetchmany",
            "fetchall",
            "scroll",
            "copy",
            "stream",
            "close",
            "__iter__",
            "__next__",
        ),
        _SQL_WHY,
        _PSYCOPG_INSTEAD,
    ),
    **members(
        (
            "psycopg_pool.ConnectionPool",
            "psycopg_pool.pool.ConnectionPool",
            "psycopg_pool.NullConnectionPool",
        ),
        ("getconn", "putconn", "connection", "open", "close", "wait", "check", "resize"),
        "waits for, opens or closes pooled PostgreSQL connections",
        "psycopg_pool.AsyncConnectionPool",
    ),
}

_PYMYSQL_INSTEAD = "aiomysql / asyncmy (await conn.cursor().execute(...))"
PYMYSQL_CONNECTIONS = (
    "pymysql.Connection",
    "pymysql.connections.Connection",
    "pymysql.Connect",
)
PYMYSQL_CURSORS = (
    "pymysql.cursors.Cursor",
    "pymysql.cursors.DictCursor",
    "pymysql.cursors.SSCursor",
    "pymysql.cursors.SSDictCursor",
)
PYMYSQL: Table = {
    **each(
        (
            "pymysql.connect",
            "pymysql.Connect",
            "pymysql.Connection",
            "pymysql.connections.Connection",
        ),
        "opens a MySQL connection in the constructor: TCP and authentication round trips",
        _PYMYSQL_INSTEAD,
    ),
    **members(
        PYMYSQL_CONNECTIONS,
        (
            "commit",
            "rollback",
            "begin",
            "close",
            "ping",
            "select_db",
            "query",
            "autocommit",
            "set_charset",
            "set_character_set",
            "kill",
            "show_warnings",
            "next_result",
            "connect",
        ),
        _SQL_WHY,
        _PYMYSQL_INSTEAD,
    ),
    **members(
        PYMYSQL_CURSORS,
        (
            "execute",
            "executemany",
            "callproc",
            "fetchone",
            "fetchmany",
            "fetchall",
            "scroll",
            "nextset",
            "close",
            "__iter__",
        ),
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
    "pymongo.MongoClient",
    "pymongo.mongo_client.MongoClient",
    "pymongo.synchronous.mongo_client.MongoClient",
)
PYMONGO_DATABASES = (
    "pymongo.database.Database",
    "pymongo.synchronous.database.Database",
)
PYMONGO_COLLECTIONS = (
    "pymongo.collection.Collection",
    "pymongo.synchronous.collection.Collection",
)
PYMONGO_CURSORS = (
    "pymongo.cursor.Cursor",
    "pymongo.synchronous.cursor.Cursor",
    "pymongo.command_cursor.CommandCursor",
    "pymongo.synchronous.command_cursor.CommandCursor",
)
PYMONGO: Table = {
    # Client, database and collection methods: every one is a command to the server, except the
    # accessors in NON_BLOCKING (get_database, get_collection, with_options, ...).
    **wide(PYMONGO_CLIENTS + PYMONGO_DATABASES + PYMONGO_COLLECTIONS, _MONGO_WHY, _MONGO_INSTEAD),
    # find() returns a lazy Cursor, but it is nearly always consumed right away (list(...),
    # a for loop, .to_list()), on the loop thread: treat the call as the query.
    # Cursor: fetching batches is network I/O; the query-building methods are in NON_BLOCKING.
    **wide(PYMONGO_CURSORS, "fetches result batches from the server", _MONGO_INSTEAD),
}

_REDIS_INSTEAD = "redis.asyncio.Redis (await r.get(...))"
REDIS_CLIENTS = (
    "redis.Redis",
    "redis.StrictRedis",
    "redis.client.Redis",
    "redis.client.StrictRedis",
    "redis.cluster.RedisCluster",
    "redis.RedisCluster",
)
REDIS: Table = {
    # Every command method of the sync client is a network round trip (the factories and
    # object builders are in NON_BLOCKING).
    **wide(REDIS_CLIENTS, "a synchronous round trip to the Redis server", _REDIS_INSTEAD),
    # Unlike Redis(), RedisCluster() connects in its constructor to discover the slot map.
    **each(
        ("redis.RedisCluster", "redis.cluster.RedisCluster"),
        "connects to the startup nodes and fetches the cluster's slot map in the constructor",
        "redis.asyncio.cluster.RedisCluster (await rc.initialize())",
    ),
    **members(
        ("redis.client.Pipeline", "redis.client.StrictPipeline", "redis.cluster.ClusterPipeline"),
        ("execute", "watch", "unwatch", "reset", "immediate_execute_command"),
        "sends the buffered pipeline (or WATCH) to the server and waits for the replies",
        "redis.asyncio pipelines: await pipe.execute()",
    ),
    **wide(
        ("redis.client.PubSub",),
        "talks to the server (subscribe) or waits for messages (listen/get_message)",
        "redis.asyncio PubSub: await pubsub.get_message() / async for message in pubsub.listen()",
    ),
    **members(
        ("redis.lock.Lock",),
        ("acquire", "release", "extend", "reacquire", "locked", "owned", "do_acquire"),
        "round trips to the server, and acquire() polls with time.sleep while the lock is taken",
        "redis.asyncio.lock.Lock (async with r.lock(...))",
    ),
    **members(
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
