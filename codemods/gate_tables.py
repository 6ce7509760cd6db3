"""What the gates (gates.py) look for in a file's coroutines, by codemod: the qualified names
and attribute names the first pass records there (``FirstPass.ASYNC_TARGETS``,
``ASYNC_NAMES``), which the transformers then rewrite."""

from __future__ import annotations

import re

from .cpu_facts import KNOWN_HEAVY, KNOWN_HEAVY_METHODS

# file_io_to_thread
OPENERS = frozenset({"builtins.open", "io.open", "codecs.open"})
# pathlib.Path methods that touch the file system and return a finished value.
PATH_METHODS = frozenset(
    {
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "exists",
        "is_file",
        "is_dir",
        "is_symlink",
        "is_mount",
        "is_socket",
        "is_fifo",
        "is_block_device",
        "is_char_device",
        "is_junction",
        "stat",
        "lstat",
        "owner",
        "group",
        "chmod",
        "lchmod",
        "mkdir",
        "rmdir",
        "unlink",
        "touch",
        "rename",
        "replace",
        "samefile",
        "resolve",
        "absolute",
        "expanduser",
        "readlink",
        "symlink_to",
        "hardlink_to",
        "link_to",
    }
)
# Generators: their I/O happens while they are iterated, on the loop, whatever runs the call.
LAZY_PATH_METHODS = frozenset({"iterdir", "glob", "rglob", "walk"})
# os.path functions that touch the file system (or the cwd / the user database).
OS_PATH_FUNCTIONS = frozenset(
    "os.path." + name
    for name in (
        "exists",
        "lexists",
        "isfile",
        "isdir",
        "islink",
        "ismount",
        "isjunction",
        "getsize",
        "getmtime",
        "getatime",
        "getctime",
        "samefile",
        "sameopenfile",
        "realpath",
        "abspath",
        "relpath",
        "expanduser",
    )
)
PURE_OS_PATH_FLAGGED = frozenset({"os.path.normpath"})  # ruff flags it; it does no I/O

# subprocess_to_asyncio
RUNS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
    }
)
SPAWN = re.compile(r"os\.spawn[lv]p?e?$")
REPORTED_CREATE = frozenset({"subprocess.Popen", "os.popen"})
REPORTED_RUN = frozenset({"os.posix_spawn", "os.posix_spawnp"})

# blocking_to_executor
WAITS = frozenset({"os.wait", "os.waitpid", "os.wait3", "os.wait4", "os.waitid"})

# cpu_to_executor
# What a coroutine must use to lead to a rewrite without a project fact (Codemod.ASYNC_TARGETS,
# for wants()): the library table, the classes whose instances hash (a module-level instance in
# this file resolves to its class), asyncio.get_event_loop, and of multiprocessing only the Pool
# class: cpu_pool.PoolRewrite acts on nothing else of it (_is_pool), and a module-level
# `pool = Pool()` that a coroutine uses resolves to the class too (callgraph._qualified_prefixes).
CPU_ASYNC_TARGETS = frozenset(
    {*KNOWN_HEAVY, *(cls for cls, _ in KNOWN_HEAVY_METHODS)}
    | {"multiprocessing.Pool", "multiprocessing.pool.Pool", "asyncio.get_event_loop"}
)
