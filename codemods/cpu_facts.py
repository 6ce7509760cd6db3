"""What is CPU-bound, as data: the library tables, the names that mean I/O or pure
computation to the cost model, the diagnostic codes, and the facts one callable carries.

Read by the cost model (cpu_cost), the proof rule (cpu_proof) and the codemod
(cpu_to_executor); see cpu_to_executor's docstring for the rules these tables feed.
"""

from __future__ import annotations

import re
from typing import Mapping, NamedTuple, Tuple

# -- what is CPU-bound ---------------------------------------------------------------------------

# Library functions that are CPU-bound by design, qualified name -> True when the call releases
# the GIL while it works (then the default thread pool frees the loop; no process needed).
KNOWN_HEAVY: Mapping[str, bool] = {
    # Key stretching: hundreds of thousands of HMAC rounds by design. OpenSSL code; CPython drops
    # the GIL around it (Modules/_hashopenssl.c, Py_BEGIN_ALLOW_THREADS).
    "hashlib.pbkdf2_hmac": True,
    # Memory-hard key derivation (OpenSSL EVP_PBE_scrypt), same GIL release as above.
    "hashlib.scrypt": True,
    # bcrypt's cost factor makes each call take ~0.1-0.3 s on purpose; the Rust core runs with
    # the GIL released (py.allow_threads).
    "bcrypt.hashpw": True,
    "bcrypt.checkpw": True,
    # bcrypt_pbkdf: many rounds by design, GIL released like hashpw.
    "bcrypt.kdf": True,
    # argon2-cffi's low-level API: memory-hard hashing; cffi releases the GIL around C calls.
    "argon2.low_level.hash_secret": True,
    "argon2.low_level.hash_secret_raw": True,
    "argon2.low_level.verify_secret": True,
    # passlib's per-scheme handlers (`from passlib.hash import bcrypt; bcrypt.hash(pw)`): slow
    # by design; they run through bcrypt / hashlib / OpenSSL crypt, which release the GIL.
    **{
        f"passlib.hash.{scheme}.{method}": True
        for scheme in (
            "bcrypt",
            "bcrypt_sha256",
            "argon2",
            "scrypt",
            "pbkdf2_sha1",
            "pbkdf2_sha256",
            "pbkdf2_sha512",
            "sha256_crypt",
            "sha512_crypt",
        )
        for method in ("hash", "verify")
    },
}

# Methods of objects made from these classes (``ctx = CryptContext(...)`` at module level, in
# any module of the project), (class, method) -> releases the GIL. Always run in the thread pool:
# the bound method of a configured instance is not something to ship to another process.
KNOWN_HEAVY_METHODS: Mapping[Tuple[str, str], bool] = {
    # passlib's CryptContext: hashes with the configured (slow by design) scheme.
    ("passlib.context.CryptContext", "hash"): True,
    ("passlib.context.CryptContext", "verify"): True,
    ("passlib.context.CryptContext", "verify_and_update"): True,
    ("passlib.context.CryptContext", "encrypt"): True,  # deprecated alias of hash
    # argon2-cffi's PasswordHasher: argon2id with memory/time cost, C code via cffi.
    ("argon2.PasswordHasher", "hash"): True,
    ("argon2.PasswordHasher", "verify"): True,
    # pwdlib's PasswordHash (FastAPI's docs and full-stack template): argon2-cffi or bcrypt.
    ("pwdlib.PasswordHash", "hash"): True,
    ("pwdlib.PasswordHash", "verify"): True,
    ("pwdlib.PasswordHash", "verify_and_update"): True,
}

# A loop (or nest of loops) over constant ranges of at least this many iterations is heavy: at
# ~50 ns per trivial iteration that is 5 ms of loop time, enough to be felt by other requests.
ITERATIONS = 100_000

# Calls that make a function I/O, not CPU work: they wait rather than compute, and belong to the
# codemods for their own families. A function that does any of this is never "heavy".
IO_BUILTINS = frozenset({"open", "print", "input"})
IO_MODULES = frozenset(
    {
        "aiohttp",
        "asyncpg",
        "boto3",
        "ftplib",
        "http",
        "httpx",
        "io",
        "logging",
        "os",
        "pathlib",
        "psycopg",
        "psycopg2",
        "pymongo",
        "redis",
        "requests",
        "select",
        "shutil",
        "smtplib",
        "socket",
        "sqlalchemy",
        "sqlite3",
        "ssl",
        "subprocess",
        "sys",
        "tempfile",
        "time",
        "urllib",
        "urllib3",
    }
)
IO_METHODS = frozenset(
    {
        "read",
        "readline",
        "readlines",
        "write",
        "writelines",
        "flush",
        "recv",
        "send",
        "sendall",
        "connect",
        "execute",
        "executemany",
        "commit",
        "rollback",
        "fetchone",
        "fetchall",
        "fetchmany",
        "query",
        "request",
        "urlopen",
    }
)
# Methods that change their receiver: called on a parameter, the caller sees the change only if
# the function runs in the same process.
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "sort",
        "reverse",
        "update",
        "add",
        "discard",
        "setdefault",
    }
)
MUTABLE_FACTORIES = frozenset(
    {"list", "dict", "set", "bytearray", "defaultdict", "deque", "Counter", "OrderedDict"}
)

# What a function may call and still be shown to do no I/O (a rewrite needs that proof):
# builtins that only compute (``open``/``print``/``input`` are I/O; ``exec``/``eval``/
# ``__import__``/``breakpoint`` run anything), ...
PURE_BUILTINS = frozenset(
    {
        "abs",
        "all",
        "any",
        "ascii",
        "bin",
        "bool",
        "bytearray",
        "bytes",
        "callable",
        "chr",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "format",
        "frozenset",
        "getattr",
        "hasattr",
        "hash",
        "hex",
        "id",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "len",
        "list",
        "map",
        "max",
        "min",
        "next",
        "oct",
        "ord",
        "pow",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "slice",
        "sorted",
        "str",
        "sum",
        "tuple",
        "type",
        "zip",
    }
)
# ... the functions of standard modules that only compute, but for the few that read or write
# a file object they are given ...
PURE_MODULES = frozenset(
    {
        "array",
        "base64",
        "binascii",
        "bisect",
        "cmath",
        "collections",
        "copy",
        "dataclasses",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "itertools",
        "json",
        "math",
        "numbers",
        "operator",
        "random",
        "re",
        "secrets",
        "statistics",
        "string",
        "struct",
        "textwrap",
        "typing",
        "unicodedata",
        "zlib",
    }
)
IMPURE_IN_PURE_MODULES = frozenset({"json.load", "json.dump", "hashlib.file_digest"})
# ... and any method of a value known to be a builtin str/bytes/number/container (a literal, a
# comprehension, a builtin constructor's result, a parameter annotated ``list``/``str``/...).
# Everything else (a library call, a project class, a method of an object of unknown type, a
# callable parameter) may block: a function that calls it is never proven CPU-bound, only
# reported (CPU004) when its body looks heavy.
# Builtins that call the function they are given (``map(load, paths)`` calls ``load``).
HIGHER_ORDER = frozenset(
    {
        "map",
        "filter",
        "sorted",
        "min",
        "max",
        "reduce",
        "functools.reduce",
        "starmap",
        "itertools.starmap",
    }
)

# Builtins that iterate their first argument to the end.
CONSUMERS = frozenset(
    {
        "sum",
        "min",
        "max",
        "sorted",
        "list",
        "tuple",
        "set",
        "frozenset",
        "any",
        "all",
        "dict",
        "bytes",
        "bytearray",
    }
)

MARKER = re.compile(rb"#\s*asyncfix:\s*cpu-bound\b")

# Parameter annotations whose values pickle (for the process pool's argument check).
PLAIN_TYPES = frozenset(
    {
        "int",
        "float",
        "complex",
        "str",
        "bytes",
        "bool",
        "list",
        "dict",
        "tuple",
        "set",
        "frozenset",
        "List",
        "Dict",
        "Tuple",
        "Set",
        "FrozenSet",
        "Optional",
        "Union",
        "Sequence",
        "Mapping",
        "None",
    }
)
# Calls whose result is a plain builtin value whatever their argument.
PLAIN_RESULTS = frozenset({"int", "float", "str", "bytes", "bool", "len", "abs", "round"})

HELPER = "_cpu_bound_executor"
# The executors a CPU-bound call can go to (emit.executor_for picks; cpu_hosts predicts).
THREAD = "thread"
PROCESS = "process"
EXECUTOR_CHOICES = ("auto", THREAD, PROCESS)

CPU001 = "CPU001"
CPU002 = "CPU002"
CPU003 = "CPU003"
CPU004 = "CPU004"


class Callee(NamedTuple):
    """What the project knows about one callable."""

    heavy: bool  # CPU-bound by proof: the table, a declaration, or a constant cost and no I/O
    holds_gil: bool  # pure-Python work: threads do not free the loop
    process_safe: bool  # module-level, picklable by reference, no shared state it relies on
    evidence: str = ""  # not heavy, but looks it (for CPU004): what was seen, where
