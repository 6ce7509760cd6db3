"""blocking_tables: the knowledge base of blocking APIs (issue 16, item 1).

Positives with the library they are filed under, negatives (what looks blocking but is not, and
project names), the key forms (exact / class-wide / module-wide / factory instances), the
``[tool.asyncfix] blocking`` option, the ``# asyncfix: blocking`` marker, the tables' hygiene,
and a cross-check against ruff: every call ruff's ASYNC2xx rules flag is in the tables."""

from __future__ import annotations

import json
import os
import os.path
import pathlib
import subprocess
import sys
import time

import pytest
from asyncfix.codemods import blocking_tables as bt
from asyncfix.codemods.blocking_tables import (
    BLOCKING_MARKER,
    NON_BLOCKING,
    TABLES,
    BlockingApi,
    lookup,
    lookup_method,
    match_user,
    user_blocking,
)
from asyncfix.codemods.config import ConfigError

POSITIVES = [
    # stdlib: sleep, input, sockets, HTTP, mail/FTP, sqlite3, processes, files, archives
    ("time.sleep", "stdlib"),
    ("builtins.input", "stdlib"),
    ("input", "stdlib"),
    ("getpass.getpass", "stdlib"),
    ("socket.create_connection", "stdlib"),
    ("socket.getaddrinfo", "stdlib"),
    ("socket.socket.recv", "stdlib"),
    ("socket.socket.sendall", "stdlib"),
    ("socket.socket.accept", "stdlib"),
    ("ssl.SSLSocket.do_handshake", "stdlib"),
    ("urllib.request.urlopen", "stdlib"),
    ("urllib.request.urlretrieve", "stdlib"),
    ("http.client.HTTPConnection.request", "stdlib"),
    ("http.client.HTTPSConnection.getresponse", "stdlib"),
    ("http.client.HTTPResponse.read", "stdlib"),
    ("smtplib.SMTP", "stdlib"),
    ("smtplib.SMTP.sendmail", "stdlib"),
    ("smtplib.SMTP_SSL.login", "stdlib"),
    ("ftplib.FTP.retrbinary", "stdlib"),
    ("ftplib.FTP", "stdlib"),
    ("imaplib.IMAP4_SSL", "stdlib"),
    ("sqlite3.connect", "stdlib"),
    ("sqlite3.Connection.execute", "stdlib"),
    ("sqlite3.Connection.commit", "stdlib"),
    ("sqlite3.Cursor.fetchall", "stdlib"),
    ("subprocess.run", "stdlib"),
    ("subprocess.check_output", "stdlib"),
    ("subprocess.getoutput", "stdlib"),
    ("subprocess.Popen", "stdlib"),
    ("subprocess.Popen.communicate", "stdlib"),
    ("subprocess.Popen.wait", "stdlib"),
    ("os.system", "stdlib"),
    ("os.popen", "stdlib"),
    ("os.posix_spawn", "stdlib"),
    ("os.spawnv", "stdlib"),
    ("os.waitpid", "stdlib"),
    ("os.wait", "stdlib"),
    ("os.remove", "stdlib"),
    ("os.unlink", "stdlib"),
    ("os.rename", "stdlib"),
    ("os.makedirs", "stdlib"),
    ("os.listdir", "stdlib"),
    ("os.scandir", "stdlib"),
    ("os.walk", "stdlib"),
    ("os.stat", "stdlib"),
    ("os.path.exists", "stdlib"),
    ("os.path.isfile", "stdlib"),
    ("os.path.getsize", "stdlib"),
    ("os.path.realpath", "stdlib"),
    ("os.path.abspath", "stdlib"),
    ("os.path.expanduser", "stdlib"),
    ("shutil.copyfile", "stdlib"),
    ("shutil.rmtree", "stdlib"),
    ("shutil.move", "stdlib"),
    ("glob.glob", "stdlib"),
    ("tempfile.NamedTemporaryFile", "stdlib"),
    ("builtins.open", "stdlib"),
    ("open", "stdlib"),
    ("io.open", "stdlib"),
    ("io.open_code", "stdlib"),
    ("codecs.open", "stdlib"),
    ("io.TextIOWrapper.read", "stdlib"),
    ("pathlib.Path.read_text", "stdlib"),
    ("pathlib.Path.write_bytes", "stdlib"),
    ("pathlib.Path.open", "stdlib"),
    ("pathlib.Path.exists", "stdlib"),
    ("pathlib.Path.mkdir", "stdlib"),
    ("pathlib.Path.iterdir", "stdlib"),
    ("pathlib.Path.resolve", "stdlib"),
    ("pathlib.Path.cwd", "stdlib"),
    ("pathlib.PosixPath.unlink", "stdlib"),
    ("zipfile.ZipFile", "stdlib"),
    ("zipfile.ZipFile.extractall", "stdlib"),
    ("zipfile.ZipFile.writestr", "stdlib"),
    ("tarfile.open", "stdlib"),
    ("tarfile.TarFile.extractall", "stdlib"),
    ("tarfile.TarFile.getmembers", "stdlib"),
    ("gzip.open", "stdlib"),
    ("hashlib.pbkdf2_hmac", "stdlib"),
    ("hashlib.scrypt", "stdlib"),
    ("threading.Thread.join", "stdlib"),
    ("concurrent.futures.Future.result", "stdlib"),
    ("queue.Queue.get", "stdlib"),
    # requests: module-wide
    ("requests.get", "requests"),
    ("requests.post", "requests"),
    ("requests.request", "requests"),
    ("requests.api.get", "requests"),
    ("requests.Session.get", "requests"),
    ("requests.sessions.Session.get", "requests"),
    ("requests.sessions.Session.send", "requests"),
    ("requests.Response.iter_content", "requests"),
    ("requests.models.Response.iter_lines", "requests"),
    ("requests.adapters.HTTPAdapter.send", "requests"),
    # httpx (sync)
    ("httpx.get", "httpx"),
    ("httpx.request", "httpx"),
    ("httpx.stream", "httpx"),
    ("httpx.Client.get", "httpx"),
    ("httpx.Client.send", "httpx"),
    ("httpx.Client.close", "httpx"),
    ("httpx.Client.stream", "httpx"),
    ("httpx.Response.iter_bytes", "httpx"),
    # urllib3
    ("urllib3.request", "urllib3"),
    ("urllib3.PoolManager.request", "urllib3"),
    ("urllib3.poolmanager.PoolManager.urlopen", "urllib3"),
    ("urllib3.HTTPConnectionPool.urlopen", "urllib3"),
    ("urllib3.response.HTTPResponse.read", "urllib3"),
    # SQLAlchemy / SQLModel
    ("sqlalchemy.orm.Session.execute", "sqlalchemy"),
    ("sqlalchemy.orm.Session.commit", "sqlalchemy"),
    ("sqlalchemy.orm.Session.get", "sqlalchemy"),
    ("sqlalchemy.orm.Session.refresh", "sqlalchemy"),
    ("sqlalchemy.orm.Session.flush", "sqlalchemy"),
    ("sqlalchemy.orm.Session.scalars", "sqlalchemy"),
    ("sqlalchemy.orm.Session.query", "sqlalchemy"),
    ("sqlalchemy.orm.Session.close", "sqlalchemy"),
    ("sqlalchemy.orm.session.Session.delete", "sqlalchemy"),
    ("sqlalchemy.orm.scoped_session.commit", "sqlalchemy"),
    ("sqlalchemy.orm.Query.all", "sqlalchemy"),
    ("sqlalchemy.orm.query.Query.first", "sqlalchemy"),
    ("sqlalchemy.engine.Engine.connect", "sqlalchemy"),
    ("sqlalchemy.engine.Engine.begin", "sqlalchemy"),
    ("sqlalchemy.Engine.dispose", "sqlalchemy"),
    ("sqlalchemy.engine.Connection.execute", "sqlalchemy"),
    ("sqlalchemy.engine.base.Connection.commit", "sqlalchemy"),
    ("sqlalchemy.MetaData.create_all", "sqlalchemy"),
    ("sqlmodel.Session.exec", "sqlmodel"),
    ("sqlmodel.Session.commit", "sqlmodel"),
    ("sqlmodel.orm.session.Session.get", "sqlmodel"),
    ("sqlmodel.SQLModel.metadata.create_all", "sqlmodel"),
    # psycopg2 / psycopg / pymysql
    ("psycopg2.connect", "psycopg2"),
    ("psycopg2.extensions.connection.commit", "psycopg2"),
    ("psycopg2.extensions.cursor.execute", "psycopg2"),
    ("psycopg2.extensions.cursor.fetchall", "psycopg2"),
    ("psycopg2.extras.RealDictCursor.execute", "psycopg2"),
    ("psycopg2.extras.execute_values", "psycopg2"),
    ("psycopg2.pool.ThreadedConnectionPool.getconn", "psycopg2"),
    ("psycopg.connect", "psycopg"),
    ("psycopg.Connection.execute", "psycopg"),
    ("psycopg.Cursor.fetchone", "psycopg"),
    ("psycopg_pool.ConnectionPool.connection", "psycopg"),
    ("pymysql.connect", "pymysql"),
    ("pymysql.connections.Connection", "pymysql"),
    ("pymysql.connections.Connection.commit", "pymysql"),
    ("pymysql.cursors.Cursor.execute", "pymysql"),
    ("pymysql.cursors.DictCursor.fetchall", "pymysql"),
    # pymongo
    ("pymongo.MongoClient.list_database_names", "pymongo"),
    ("pymongo.MongoClient.server_info", "pymongo"),
    ("pymongo.collection.Collection.find_one", "pymongo"),
    ("pymongo.collection.Collection.insert_one", "pymongo"),
    ("pymongo.collection.Collection.find", "pymongo"),
    ("pymongo.collection.Collection.aggregate", "pymongo"),
    ("pymongo.database.Database.command", "pymongo"),
    ("pymongo.cursor.Cursor.to_list", "pymongo"),
    # redis
    ("redis.Redis.get", "redis"),
    ("redis.Redis.set", "redis"),
    ("redis.client.Redis.get", "redis"),
    ("redis.StrictRedis.hgetall", "redis"),
    ("redis.client.Pipeline.execute", "redis"),
    ("redis.client.PubSub.get_message", "redis"),
    ("redis.lock.Lock.acquire", "redis"),
    ("redis.RedisCluster", "redis"),
    # boto3
    ("boto3.client", "boto3"),
    ("boto3.resource", "boto3"),
    ("boto3.session.Session.client", "boto3"),
    ("botocore.client.BaseClient.put_object", "boto3"),
    ("botocore.client.BaseClient.upload_file", "boto3"),
    ("botocore.waiter.Waiter.wait", "boto3"),
    # h5py
    ("h5py.File", "h5py"),
    ("h5py.File.create_dataset", "h5py"),
    ("h5py.Dataset.__getitem__", "h5py"),
    ("h5py.Group.create_group", "h5py"),
    # PIL
    ("PIL.Image.open", "PIL"),
    ("PIL.Image.Image.save", "PIL"),
    ("PIL.Image.Image.resize", "PIL"),
    ("PIL.Image.Image.thumbnail", "PIL"),
    ("PIL.ImageOps.exif_transpose", "PIL"),
    # pandas
    ("pandas.read_csv", "pandas"),
    ("pandas.read_excel", "pandas"),
    ("pandas.read_sql", "pandas"),
    ("pandas.read_parquet", "pandas"),
    ("pandas.DataFrame.to_csv", "pandas"),
    ("pandas.core.frame.DataFrame.to_parquet", "pandas"),
    ("pandas.Series.to_json", "pandas"),
    # matplotlib
    ("matplotlib.pyplot.savefig", "matplotlib"),
    ("matplotlib.pyplot.show", "matplotlib"),
    ("matplotlib.figure.Figure.savefig", "matplotlib"),
    ("matplotlib.backends.backend_agg.FigureCanvasAgg.print_png", "matplotlib"),
    # password hashing
    ("bcrypt.hashpw", "bcrypt"),
    ("bcrypt.checkpw", "bcrypt"),
    ("passlib.context.CryptContext.verify", "passlib"),
    ("passlib.context.CryptContext.hash", "passlib"),
    ("passlib.hash.bcrypt.hash", "passlib"),
    ("passlib.hash.pbkdf2_sha256.verify", "passlib"),
    ("argon2.PasswordHasher.hash", "argon2"),
    ("argon2.PasswordHasher.verify", "argon2"),
    ("argon2.low_level.hash_secret", "argon2"),
    ("pwdlib.PasswordHash.verify", "pwdlib"),
    ("werkzeug.security.generate_password_hash", "werkzeug"),
]

NEGATIVES = [
    # SQLAlchemy bookkeeping and statement construction
    "sqlalchemy.orm.Session.add",
    "sqlalchemy.orm.Session.add_all",
    "sqlalchemy.orm.Session.expunge",
    "sqlalchemy.orm.Session.begin",
    "sqlalchemy.orm.Session.expire",
    "sqlalchemy.orm.session.Session.add",
    "sqlmodel.Session.add",
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.Session.__init__",
    "sqlmodel.Session",
    "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.create_engine",
    "sqlmodel.create_engine",
    "sqlalchemy.select",
    "sqlalchemy.text",
    "sqlalchemy.delete",
    "sqlalchemy.sql.expression.select",
    "sqlmodel.select",
    "sqlalchemy.engine.Result.all",
    "sqlalchemy.engine.Result.scalars",
    "sqlalchemy.orm.Query.filter",
    "sqlalchemy.ext.asyncio.AsyncSession.execute",
    "sqlmodel.ext.asyncio.session.AsyncSession.exec",
    # requests: construction, exceptions, already-read responses
    "requests.Request",
    "requests.models.Request.prepare",
    "requests.PreparedRequest",
    "requests.Session",
    "requests.sessions.Session",
    "requests.Session.mount",
    "requests.exceptions.HTTPError",
    "requests.HTTPError",
    "requests.RequestException",
    "requests.codes",
    "requests.utils.quote",
    "requests.Response.json",
    "requests.models.Response.raise_for_status",
    # httpx
    "httpx.Client",
    "httpx.AsyncClient",
    "httpx.AsyncClient.get",
    "httpx.Client.build_request",
    "httpx.Response.json",
    "urllib3.PoolManager",
    # stdlib look-alikes
    "os.path.join",
    "os.path.basename",
    "os.path.splitext",
    "os.path.normpath",
    "os.getenv",
    "os.environ.get",
    "pathlib.Path",
    "pathlib.Path.joinpath",
    "pathlib.Path.with_suffix",
    "pathlib.Path.name",
    "pathlib.Path.parent",
    "pathlib.PurePath.joinpath",
    "pathlib.PurePosixPath.with_name",
    "json.loads",
    "json.dumps",
    "hashlib.sha256",
    "hashlib.md5",
    "hmac.compare_digest",
    "secrets.token_hex",
    "io.StringIO",
    "io.BytesIO.read",
    "urllib.request.Request",
    "urllib.parse.urlencode",
    "subprocess.Popen.poll",
    "subprocess.Popen.kill",
    "socket.socket.setblocking",
    "sqlite3.Connection.cursor",
    "zipfile.ZipFile.namelist",
    "time.time",
    "time.monotonic",
    # offloading helpers and async libraries
    "asyncio.to_thread",
    "asyncio.sleep",
    "asyncio.get_running_loop",
    "starlette.concurrency.run_in_threadpool",
    "fastapi.concurrency.run_in_threadpool",
    "anyio.to_thread.run_sync",
    "redis.asyncio.Redis.get",
    "pymongo.AsyncMongoClient.list_database_names",
    "aiofiles.open",
    # clients built lazily and handles
    "redis.Redis",
    "redis.from_url",
    "redis.Redis.pipeline",
    "redis.client.Redis.lock",
    "pymongo.MongoClient",
    "pymongo.MongoClient.get_database",
    "pymongo.database.Database.get_collection",
    "pymongo.cursor.Cursor.sort",
    "boto3.Session",
    "botocore.client.BaseClient.generate_presigned_url",
    "psycopg2.extensions.connection.cursor",
    "psycopg2.extensions.cursor.mogrify",
    "pandas.DataFrame",
    "PIL.Image.new",
    "matplotlib.pyplot.figure",
    "passlib.context.CryptContext",
    "argon2.PasswordHasher",
    "bcrypt.gensalt",
    # project names and unknown libraries
    "app.services.get",
    "app.db.session.execute",
    "myproject.requests_helper.get",
    "services.storage.open",
    "get",
    "print",
    "len",
    "",
    "builtins.len",
    "requestsx.get",
    "sqlalchemyfoo.orm.Session.execute",
]


@pytest.mark.parametrize(("qualified", "library"), POSITIVES, ids=[q for q, _ in POSITIVES])
def test_blocking_apis_are_found(qualified, library):
    api = lookup(qualified)
    assert api is not None, f"{qualified} should block"
    assert api.library == library
    assert api.why and api.instead


@pytest.mark.parametrize("qualified", NEGATIVES, ids=[q or "<empty>" for q in NEGATIVES])
def test_non_blocking_names_are_not_found(qualified):
    assert lookup(qualified) is None


@pytest.mark.parametrize(
    ("qualified", "key"),
    [
        ("time.sleep", "time.sleep"),  # exact
        ("requests.get", "requests.*"),  # module-wide
        ("requests.api.get", "requests.*"),  # nested module
        ("requests.sessions.Session.get", "requests.sessions.Session.*"),  # class-wide first
        ("sqlalchemy.orm.Session.execute", "sqlalchemy.orm.Session.*"),
        ("redis.client.Redis.get", "redis.client.Redis.*"),
        ("open", "builtins.open"),
        ("input", "builtins.input"),
        ("requests.models.Response.iter_content", "requests.models.Response.iter_content"),
        ("h5py.File.__init__", "h5py.File"),  # the constructor is the class call
    ],
)
def test_the_matching_key_is_reported(qualified, key):
    api = lookup(qualified)
    assert api is not None and api.name == key


@pytest.mark.parametrize(
    ("qualified", "key"),
    [
        # What the import resolver writes for methods of an object a factory returned:
        # `conn = sqlite3.connect(...); conn.execute(...)`, `with open(p) as f: f.read()`.
        ("sqlite3.connect.execute", "sqlite3.Connection.execute"),
        ("sqlite3.connect.cursor.fetchall", "sqlite3.Cursor.fetchall"),
        ("builtins.open.read", "io.TextIOWrapper.read"),
        ("builtins.open.write", "io.TextIOWrapper.write"),
        ("pathlib.Path.open.read", "io.TextIOWrapper.read"),
        ("psycopg2.connect.cursor.execute", "psycopg2.extensions.cursor.execute"),
        ("psycopg2.connect.commit", "psycopg2.extensions.connection.commit"),
        ("pymysql.connect.cursor.execute", "pymysql.cursors.Cursor.execute"),
        ("boto3.client.put_object", "botocore.client.BaseClient.*"),
        ("sqlalchemy.create_engine.connect", "sqlalchemy.engine.Engine.*"),
        ("sqlalchemy.create_engine.connect.execute", "sqlalchemy.engine.Connection.*"),
        ("redis.from_url.get", "redis.client.Redis.*"),
        ("redis.Redis.pipeline.execute", "redis.client.Pipeline.execute"),
        ("requests.get.iter_content", "requests.models.Response.iter_content"),
        ("urllib.request.urlopen.read", "http.client.HTTPResponse.read"),
        ("pandas.read_csv.to_parquet", "pandas.DataFrame.to_parquet"),
        ("PIL.Image.open.save", "PIL.Image.Image.save"),
        (
            "pymongo.MongoClient.get_database.get_collection.find_one",
            "pymongo.collection.Collection.*",
        ),
    ],
)
def test_methods_of_factory_results(qualified, key):
    api = lookup(qualified)
    assert api is not None and api.name == key


@pytest.mark.parametrize(
    "qualified",
    [
        "requests.get.json",  # `r = requests.get(url); r.json()`: the body is already read
        "requests.Session.get.raise_for_status",
        "httpx.Client.get.json",
        "builtins.open.fileno",
        "psycopg2.connect.cursor.mogrify",
        "redis.Redis.pipeline.set",  # buffered until execute()
        "sqlite3.connect.cursor",
        "boto3.client.generate_presigned_url",
        "pandas.read_csv.head",
        "pymongo.MongoClient.get_database",
    ],
)
def test_non_blocking_methods_of_factory_results(qualified):
    assert lookup(qualified) is None


def test_lookup_method():
    assert lookup_method("redis.Redis", "get").name == "redis.Redis.*"
    assert lookup_method("sqlalchemy.orm.Session", "execute").library == "sqlalchemy"
    assert lookup_method("sqlalchemy.orm.Session", "add") is None
    assert lookup_method("pathlib.Path", "read_text").name == "pathlib.Path.read_text"
    assert lookup_method("pathlib.Path", "joinpath") is None
    assert lookup_method("passlib.context.CryptContext", "verify").library == "passlib"
    assert lookup_method("httpx.Client", "get").library == "httpx"
    assert lookup_method("httpx.AsyncClient", "get") is None
    assert lookup_method("app.Repo", "get") is None
    assert lookup_method("h5py.File", "") == lookup("h5py.File")


def test_lookup_is_memoised_and_returns_frozen_values():
    first = lookup("time.sleep")
    assert lookup("time.sleep") is first
    assert isinstance(first, BlockingApi)
    with pytest.raises(Exception):
        first.why = "x"  # type: ignore[misc]


def test_every_entry_says_why_and_instead():
    assert len(TABLES) >= 15
    for library, table in TABLES.items():
        assert table, library
        for key, (why, instead) in table.items():
            assert why.strip() and instead.strip(), key
            assert "\n" not in why and "\n" not in instead, key  # one line each
            assert key == key.strip() and " " not in key, key
            # a key is exact, or ends with a single wildcard segment
            assert "*" not in key.rstrip("*") and (not key.endswith("*") or key.endswith(".*")), key
    for key, reason in NON_BLOCKING.items():
        assert reason.strip(), key


def test_every_entry_is_found_under_its_own_library():
    for library, table in TABLES.items():
        for key in table:
            probe = key[:-2] + ".some_method" if key.endswith(".*") else key
            api = lookup(probe)
            assert api is not None and api.library == library, (key, api)


def test_tables_and_exceptions_are_disjoint():
    keys = [key for table in TABLES.values() for key in table]
    assert len(keys) == len(set(keys)), "a key is listed in two tables"
    assert not set(keys) & set(NON_BLOCKING)


def test_factory_results_are_known_classes():
    known = {key.rpartition(".")[0] for table in TABLES.values() for key in table}
    known |= {key.rpartition(".")[0] for key in NON_BLOCKING}
    for factory, cls in bt.RETURNS.items():
        assert cls in known, (factory, cls)


# ---- ruff's flake8-async rules: the lists asyncfix must cover (ruff 0.17, --preview).

RUFF_LISTS = {
    # ASYNC210
    "ASYNC210": ["urllib.request.urlopen", "urllib3.request"]
    + [
        f"{lib}.{verb}"
        for lib in ("requests", "httpx")
        for verb in (
            "get",
            "post",
            "delete",
            "patch",
            "put",
            "head",
            "connect",
            "options",
            "trace",
            "request",
        )
        if (lib, verb)
        not in {
            ("httpx", "connect"),
            ("httpx", "trace"),
            ("requests", "connect"),
            ("requests", "trace"),
        }
    ],
    # ASYNC212: methods of a sync httpx.Client
    "ASYNC212": [
        f"httpx.Client.{m}"
        for m in (
            "close",
            "delete",
            "get",
            "head",
            "options",
            "patch",
            "post",
            "put",
            "request",
            "send",
            "stream",
        )
    ],
    # ASYNC220-222
    "ASYNC220": ["subprocess.Popen", "os.popen"]
    + [
        f"os.{name}"
        for name in (
            "spawnl",
            "spawnle",
            "spawnlp",
            "spawnlpe",
            "spawnv",
            "spawnve",
            "spawnvp",
            "spawnvpe",
        )
    ],
    "ASYNC221": ["os.system", "os.posix_spawn", "os.posix_spawnp"]
    + [
        f"subprocess.{name}"
        for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
    ],
    "ASYNC222": [f"os.{name}" for name in ("wait", "wait3", "wait4", "waitid", "waitpid")],
    # ASYNC230
    "ASYNC230": ["builtins.open", "io.open", "io.open_code", "pathlib.Path.open"],
    # ASYNC240 (os.path.normpath is flagged by ruff too, but is pure: a documented exception)
    "ASYNC240": [
        f"os.path.{name}"
        for name in (
            "abspath",
            "exists",
            "expanduser",
            "getatime",
            "getctime",
            "getmtime",
            "getsize",
            "isdir",
            "isfile",
            "islink",
            "ismount",
            "lexists",
            "realpath",
            "relpath",
            "samefile",
            "sameopenfile",
            "isjunction",
            "isdevdrive",
            "isreserved",
        )
    ]
    + [
        f"pathlib.Path.{name}"
        for name in (
            "absolute",
            "chmod",
            "cwd",
            "exists",
            "expanduser",
            "glob",
            "group",
            "hardlink_to",
            "home",
            "is_block_device",
            "is_char_device",
            "is_dir",
            "is_fifo",
            "is_file",
            "is_junction",
            "is_mount",
            "is_socket",
            "is_symlink",
            "iterdir",
            "lchmod",
            "link_to",
            "lstat",
            "mkdir",
            "owner",
            "read_bytes",
            "read_text",
            "readlink",
            "rename",
            "replace",
            "resolve",
            "rglob",
            "rmdir",
            "samefile",
            "stat",
            "symlink_to",
            "touch",
            "unlink",
            "walk",
            "write_bytes",
            "write_text",
        )
    ],
    "ASYNC250": ["builtins.input"],
    "ASYNC251": ["time.sleep"],
}


@pytest.mark.parametrize("code", sorted(RUFF_LISTS))
def test_ruff_flake8_async_lists_are_covered(code):
    missing = [name for name in RUFF_LISTS[code] if lookup(name) is None]
    assert not missing


def _ruff_flagged(tmp_path) -> dict:
    """Every callable of the modules ruff's ASYNC2xx rules look at, called in a coroutine:
    the qualified names ruff flags."""
    import io
    import urllib.request

    calls = {}  # line -> qualified name
    lines = [
        "import io, os, os.path, pathlib, subprocess, time, urllib.request",
        "import urllib3, requests, httpx",
        "async def f(x):",
        "    p = pathlib.Path('x')",
    ]

    def add(source: str, qualified: str) -> None:
        lines.append(f"    {source}")
        calls[len(lines)] = qualified

    def functions(module) -> list:  # what can be called: not submodules (os.path.stat)
        return [name for name in dir(module) if callable(getattr(module, name))]

    for module, names in (
        ("os", functions(os)),
        ("os.path", functions(os.path)),
        ("subprocess", functions(subprocess)),
        ("time", functions(time)),
        ("io", functions(io)),
        ("urllib.request", functions(urllib.request)),
        ("urllib3", ["request", "PoolManager"]),
        (
            "requests",
            [
                "get",
                "post",
                "put",
                "patch",
                "delete",
                "head",
                "options",
                "request",
                "Session",
                "Request",
            ],
        ),
        (
            "httpx",
            [
                "get",
                "post",
                "put",
                "patch",
                "delete",
                "head",
                "options",
                "request",
                "stream",
                "Client",
                "AsyncClient",
            ],
        ),
    ):
        for name in names:
            if not name.startswith("_"):
                add(f"{module}.{name}(x)", f"{module}.{name}")
    for name in dir(pathlib.Path):
        if not name.startswith("_"):
            add(f"p.{name}()", f"pathlib.Path.{name}")
    add("open(x)", "builtins.open")
    add("input(x)", "builtins.input")
    source = tmp_path / "probe.py"
    source.write_text("\n".join(lines) + "\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--preview",
            "--select",
            "ASYNC2",
            "--output-format",
            "json",
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    if run.returncode not in (0, 1) or not run.stdout.strip():
        pytest.skip(f"ruff unavailable: {run.stderr.strip()[:200]}")
    return {
        calls[d["location"]["row"]]: d["code"]
        for d in json.loads(run.stdout)
        if d["location"]["row"] in calls
    }


def test_everything_ruff_flags_is_in_the_tables(tmp_path):
    pytest.importorskip("ruff")
    flagged = _ruff_flagged(tmp_path)
    assert {
        "ASYNC210",
        "ASYNC220",
        "ASYNC221",
        "ASYNC222",
        "ASYNC230",
        "ASYNC240",
        "ASYNC250",
        "ASYNC251",
    } <= set(flagged.values())
    missing = {
        name: code
        for name, code in flagged.items()
        if lookup(name) is None and name not in {"os.path.normpath"}
    }
    assert not missing
    # the one deliberate difference: ruff flags os.path.normpath, which does no I/O
    assert "os.path.normpath" in NON_BLOCKING


# ---- [tool.asyncfix] blocking = [...]


def test_user_blocking_parsing():
    assert user_blocking({}) == frozenset()
    assert user_blocking({"blocking": None}) == frozenset()
    assert user_blocking({"blocking": []}) == frozenset()
    assert user_blocking({"other": 1}) == frozenset()
    assert user_blocking(
        {"blocking": ["pkg.mod.func", " legacy.client.Client.* ", "vendor.*", ""]}
    ) == frozenset({"pkg.mod.func", "legacy.client.Client.*", "vendor.*"})
    # a comma-separated string, as config.py accepts for list options
    assert user_blocking({"blocking": "a.b, c.d"}) == frozenset({"a.b", "c.d"})


@pytest.mark.parametrize("bad", [[1], ["not a name"], ["pkg..mod"], ["pkg.*.x"], {"a": 1}, 3])
def test_user_blocking_rejects_malformed_entries(bad):
    with pytest.raises(ConfigError):
        user_blocking({"blocking": bad})


def test_match_user_uses_the_same_key_forms():
    names = user_blocking({"blocking": ["pkg.mod.func", "legacy.Client.*", "vendor.*"]})
    assert match_user("pkg.mod.func", names).name == "pkg.mod.func"
    assert match_user("pkg.mod.other", names) is None
    assert match_user("legacy.Client.fetch", names).name == "legacy.Client.*"
    assert match_user("legacy.Client", names) is None
    assert match_user("vendor.sdk.call", names).library == "project"
    assert match_user("pkg.mod.func", frozenset()) is None


# ---- # asyncfix: blocking


@pytest.mark.parametrize(
    "line",
    [
        "def fetch():  # asyncfix: blocking",
        "# asyncfix: blocking",
        "    #asyncfix:blocking",
        "@cache  # asyncfix: blocking -- calls the vendor SDK",
        "def f(): # noqa: E501  # asyncfix: blocking",
        "# asyncfix:  blocking  ",
    ],
)
def test_marker_matches(line):
    assert BLOCKING_MARKER.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "def fetch():",
        "# asyncfix: ignore",
        "# asyncfix: cpu-bound",
        "# asyncfix: blockingness",
        "# asyncfix: blocking-io",
        "# asyncfix: non-blocking",
        "x = 'asyncfix: blocking'",
    ],
)
def test_marker_does_not_match(line):
    assert not BLOCKING_MARKER.search(line)
