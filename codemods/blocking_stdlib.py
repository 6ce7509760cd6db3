"""Blocking tables: the standard library (everything ruff's flake8-async rules flag) and pathlib."""

from __future__ import annotations

from .blocking_entries import TO_THREAD, Table, each, members, wide

# --------------------------------------------------------------------------------------------
# stdlib
# --------------------------------------------------------------------------------------------

STDLIB: Table = {
    # ASYNC251: the thread sleeps, and the loop with it.
    "time.sleep": ("suspends the whole thread, event loop included", "await asyncio.sleep(...)"),
    # ASYNC250: waits for a line on stdin.
    "builtins.input": (
        "waits for the user to type a line on stdin",
        "await asyncio.to_thread(input, ...)",
    ),
    "getpass.getpass": (
        "waits for the user to type a password on the terminal",
        "await asyncio.to_thread(getpass.getpass, ...)",
    ),
    **each(
        ("sys.stdin.read", "sys.stdin.readline", "sys.stdin.readlines"),
        "waits for data on stdin",
        "await asyncio.to_thread(sys.stdin.readline) or an asyncio StreamReader",
    ),
    # select() waits for file descriptors with a timeout: the loop waits with it.
    **each(
        ("select.select",),
        "waits for file descriptors to become ready",
        "loop.add_reader / asyncio streams",
    ),
    # ---- sockets: every call that connects, sends or receives waits on the network.
    **each(
        ("socket.create_connection", "socket.socket.connect", "socket.socket.connect_ex"),
        "connects a blocking socket: DNS lookup and TCP handshake on the loop thread",
        "await asyncio.open_connection(...)",
    ),
    **each(
        (
            "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
            "socket.gethostbyaddr", "socket.getfqdn", "socket.getnameinfo",
        ),
        "resolves a name through the system resolver (DNS), which blocks",
        "await loop.getaddrinfo(...) / loop.getnameinfo(...)",
    ),
    **members(
        ("socket.socket", "socket.SocketType"),
        (
            "accept", "recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into",
            "send", "sendall", "sendto", "sendmsg", "sendfile",
        ),
        "reads from or writes to a blocking socket: waits on the peer",
        "asyncio streams (open_connection / start_server) or loop.sock_* on a non-blocking socket",
    ),
    **members(
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
    **each(
        ("urllib.request.urlopen", "urllib.request.urlretrieve",
         "urllib.request.OpenerDirector.open"),
        "a synchronous HTTP request: waits for the server's response",
        "httpx.AsyncClient (await client.get(...)) or aiohttp",
    ),
    **wide(
        ("http.client.HTTPConnection", "http.client.HTTPSConnection"),
        "http.client connections do synchronous socket I/O (connect/request/getresponse)",
        "httpx.AsyncClient or aiohttp",
    ),
    **members(
        ("http.client.HTTPResponse",),
        ("read", "read1", "readinto", "readinto1", "readline", "readlines", "peek", "close"),
        "reads the response body from a blocking socket",
        "httpx.AsyncClient (await response.aread()) or aiohttp",
    ),
    # ---- mail, FTP and friends: constructors connect when given a host.
    **each(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
        "connects to the mail server when given a host (socket I/O in the constructor)",
        "aiosmtplib.SMTP / aiosmtplib.send",
    ),
    **wide(
        ("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"),
        "SMTP commands are synchronous network round trips",
        "aiosmtplib.SMTP / aiosmtplib.send",
    ),
    **each(
        ("ftplib.FTP", "ftplib.FTP_TLS"),
        "connects to the FTP server when given a host (socket I/O in the constructor)",
        "aioftp.Client",
    ),
    **wide(
        ("ftplib.FTP", "ftplib.FTP_TLS"),
        "FTP commands and transfers are synchronous network I/O",
        "aioftp.Client",
    ),
    **each(
        ("poplib.POP3", "poplib.POP3_SSL", "imaplib.IMAP4", "imaplib.IMAP4_SSL"),
        "connects to the mail server in the constructor",
        f"aioimaplib, or {TO_THREAD}",
    ),
    **wide(
        ("poplib.POP3", "poplib.POP3_SSL", "imaplib.IMAP4", "imaplib.IMAP4_SSL"),
        "mailbox commands are synchronous network round trips",
        f"aioimaplib, or {TO_THREAD}",
    ),
    # ---- sqlite3: the database is a file; every statement is disk I/O under a lock.
    "sqlite3.connect": (
        "opens the database file (disk I/O, may wait on a lock)",
        "aiosqlite.connect(...) (async with)",
    ),
    **members(
        ("sqlite3.Connection", "sqlite3.Cursor"),
        ("execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall",
         "commit", "rollback", "close", "backup", "iterdump", "blobopen", "serialize",
         "deserialize"),
        "runs SQL against the database file: disk I/O, and waits up to `timeout` on locks",
        "aiosqlite (await db.execute(...))",
    ),
    # ---- processes (ASYNC220: create, ASYNC221: run, ASYNC222: wait).
    **each(
        ("subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
         "subprocess.getoutput", "subprocess.getstatusoutput"),
        "runs a child process and waits for it to exit",
        "await asyncio.create_subprocess_exec(...) then await proc.communicate()",
    ),
    "subprocess.Popen": (
        "fork/exec of a child process on the loop thread, and a sync handle to wait on (ASYNC220)",
        "await asyncio.create_subprocess_exec(...)",
    ),
    **members(
        ("subprocess.Popen",),
        ("wait", "communicate"),
        "waits for the child process to exit",
        "asyncio.subprocess.Process: await proc.wait() / await proc.communicate()",
    ),
    "os.popen": (
        "starts a shell command through a pipe; reading it waits for the command (ASYNC220)",
        "await asyncio.create_subprocess_shell(..., stdout=PIPE)",
    ),
    **each(
        ("os.system", "os.posix_spawn", "os.posix_spawnp"),
        "runs a child process (os.system waits for it to exit)",
        "await asyncio.create_subprocess_shell(...) / create_subprocess_exec(...)",
    ),
    **each(
        ("os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve",
         "os.spawnvp", "os.spawnvpe"),
        "spawns a child process; with P_WAIT it also waits for it to exit",
        "await asyncio.create_subprocess_exec(...)",
    ),
    **each(
        ("os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid"),
        "waits for a child process to change state (ASYNC222)",
        "await asyncio.to_thread(os.waitpid, ...) or asyncio.subprocess's proc.wait()",
    ),
    # ---- open / io (ASYNC230).
    **each(
        ("builtins.open", "io.open", "io.open_code", "codecs.open", "os.fdopen", "io.FileIO"),
        "opens a file: disk I/O, and the file object it returns reads/writes synchronously",
        "aiofiles.open(...) / anyio.open_file(...), or the whole read/write in asyncio.to_thread",
    ),
    **members(
        ("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom",
         "io.BufferedRWPair", "io.FileIO", "io.BufferedIOBase", "io.RawIOBase", "io.TextIOBase",
         "io.IOBase", "typing.IO", "typing.TextIO", "typing.BinaryIO"),
        ("read", "read1", "readinto", "readinto1", "readline", "readlines", "readall", "write",
         "writelines", "flush", "truncate"),
        "reads or writes a file synchronously",
        "aiofiles / anyio.open_file, or the whole read/write in asyncio.to_thread",
    ),
    # ---- os file operations: every one is a system call on the file system.
    **each(
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
    **each(
        tuple("os.path." + name for name in (
            "exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction",
            "isdevdrive", "isreserved", "getsize", "getmtime", "getatime", "getctime",
            "samefile", "sameopenfile", "realpath", "abspath", "relpath", "expanduser",
        )),
        "queries the file system (stat/readlink/getcwd/pwd database), flagged by ruff ASYNC240",
        "anyio.Path / trio.Path methods, or asyncio.to_thread(os.path.<fn>, ...)",
    ),
    **each(
        tuple("shutil." + name for name in (
            "copy", "copy2", "copyfile", "copyfileobj", "copymode", "copystat", "copytree",
            "rmtree", "move", "make_archive", "unpack_archive", "disk_usage", "chown", "which",
        )),
        "copies, moves or deletes files: as long as the disk takes",
        "await asyncio.to_thread(shutil.<fn>, ...)",
    ),
    **each(
        ("glob.glob", "glob.iglob"),
        "lists directories on disk",
        "await asyncio.to_thread(glob.glob, ...) or anyio.Path.glob",
    ),
    **each(
        ("tempfile.mkstemp", "tempfile.mkdtemp", "tempfile.TemporaryFile",
         "tempfile.NamedTemporaryFile", "tempfile.TemporaryDirectory"),
        "creates files or directories on disk",
        "await asyncio.to_thread(...) or aiofiles.tempfile",
    ),
    # ---- compressed files and archives: disk I/O plus (de)compression on the loop thread.
    **each(
        ("gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File", "lzma.open", "lzma.LZMAFile",
         "shelve.open", "dbm.open"),
        "opens a file; reading/writing it does disk I/O and (de)compression synchronously",
        "await asyncio.to_thread(...) around the whole read/write",
    ),
    **each(
        ("zipfile.ZipFile", "zipfile.is_zipfile"),
        "opens the archive and reads its central directory from disk",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **members(
        ("zipfile.ZipFile",),
        ("open", "read", "write", "writestr", "extract", "extractall", "testzip", "close",
         "mkdir"),
        "reads or writes archive members: disk I/O and (de)compression",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **each(
        ("tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.is_tarfile"),
        "opens the archive file (and reads its first header)",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    **members(
        ("tarfile.TarFile",),
        ("add", "addfile", "extract", "extractall", "extractfile", "getmember", "getmembers",
         "getnames", "next", "list", "close"),
        "reads or writes the archive: disk I/O, and getmembers/getnames scan the whole file",
        "await asyncio.to_thread(...) around the whole archive work",
    ),
    # ---- password hashing in hashlib: slow by design (key stretching).
    **each(
        ("hashlib.pbkdf2_hmac", "hashlib.scrypt"),
        "key stretching: slow on purpose (100k+ rounds / memory-hard), CPU on the loop thread",
        f"{TO_THREAD}: OpenSSL releases the GIL, so a thread frees the loop",
    ),
    # ---- waiting on threads and futures.
    **each(
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
    members(
        PATH_CLASSES,
        PATH_IO_METHODS,
        "pathlib I/O: a file-system call (stat/open/listdir/...) on the loop thread",
        "anyio.Path (await path.read_text()) or asyncio.to_thread(path.<method>, ...)",
    )
)
