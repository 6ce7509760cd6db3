"""cpu_to_executor: a CPU-bound call in a coroutine runs in an executor, off the event loop.

Why: a CPU-heavy call inside an ``async def`` holds the event loop for its whole duration, so
every other request, task and timer waits (https://docs.python.org/3/library/asyncio-dev.html
#running-blocking-code). An executor moves it to a worker; which worker matters: pure-Python
work holds the GIL, so only a process pool frees the loop, while C code that releases the GIL
(hashlib, bcrypt, argon2) runs fine in a thread.

Before -> after::

    async def compute():                    async def compute():
        return cpu_intensive_task()     ->      return await asyncio.get_running_loop().run_in_executor(
                                                    _cpu_bound_executor(), cpu_intensive_task
                                                )
    async def hash_(pw: str):               async def hash_(pw: str):
        return hashlib.scrypt(          ->      return await asyncio.to_thread(
            pw.encode(), salt=s, n=n)               hashlib.scrypt, pw.encode(), salt=s, n=n)

The thread case is ``await asyncio.to_thread(f, *args, **kwargs)``, the offload asyncfix writes
everywhere (it takes keyword arguments and carries the caller's context variables). The process
case is ``run_in_executor(_cpu_bound_executor(), f, *args)``, with
``functools.partial(f, a, key=c)`` for keyword arguments (``run_in_executor`` takes none);
``_cpu_bound_executor()`` is a module-level function, added once per module, that creates one
``ProcessPoolExecutor`` on first use. Either way the arguments are evaluated on the loop first.

What is CPU-bound: a rewrite is made only on proof (see the README section "CPU-bound calls"):

1. the library calls in :data:`KNOWN_HEAVY` / :data:`KNOWN_HEAVY_METHODS` (password hashing);
2. project functions (module-level ``def``, any module of the project) whose cost the code
   itself fixes -- a loop or comprehension whose every level runs over a constant range, at
   least :data:`ITERATIONS` iterations in all, or a call of a function proven CPU-bound -- and
   that call nothing that may block: only computing builtins, pure standard-library modules
   (:data:`_PURE_MODULES`), methods of values known to be builtin (literals, annotated
   parameters), the table, and project functions that are clean in the same way. Any I/O
   (``open``, a DB session, an I/O module, a project function doing it) rules a function out;
3. ``[tool.asyncfix] cpu-bound = ["pkg.module.func"]`` and ``# asyncfix: cpu-bound`` on a ``def``;
4. ``multiprocessing.Pool`` used directly in a coroutine (``with Pool() as p: p.apply(f)``):
   ``apply``/``map`` become awaited calls on the module's process pool and the ``with`` goes.

Also: ``asyncio.get_event_loop()`` in a coroutine becomes ``asyncio.get_running_loop()``.

Not rewritten: sync code (a sync FastAPI route already runs in a threadpool), calls in a nested
sync ``def``/``lambda``, methods (``self.crunch()``: no types), nested functions, functions that
do I/O. Reported instead: CPU001 a CPU-bound call in a generator expression or where a needed
name is rebound; CPU002 pure-Python CPU work sent to the thread pool because it cannot be shown
to be picklable; CPU003 a ``multiprocessing.Pool`` use this codemod cannot rewrite; CPU004 a
function that only looks heavy -- evidence that depends on the data (nested independent loops
over inputs of unknown size), or a constant cost beside a call that may block -- with the
evidence and the hint to declare it (never a rewrite: such a guess sent fastapi's own
``request_params_to_args`` to a thread pool, and a DB-query-and-plot helper to a process pool).
"""

from __future__ import annotations

import ast
import re
from typing import Any, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Set, Tuple

import libcst as cst
import libcst.helpers
import libcst.matchers as m
from libcst.metadata import FunctionScope, GlobalScope, ScopeProvider

from . import syntax
from .base import GENEXP, Codemod, awaited
from .project import ProjectIndex, called, dotted_name, iter_child_nodes, walk
from .resolve import module_names, resolve_relative

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
            "bcrypt", "bcrypt_sha256", "argon2", "scrypt", "pbkdf2_sha1", "pbkdf2_sha256",
            "pbkdf2_sha512", "sha256_crypt", "sha512_crypt",
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
}

# A loop (or nest of loops) over constant ranges of at least this many iterations is heavy: at
# ~50 ns per trivial iteration that is 5 ms of loop time, enough to be felt by other requests.
ITERATIONS = 100_000

# Calls that make a function I/O, not CPU work: they wait rather than compute, and belong to the
# codemods for their own families. A function that does any of this is never "heavy".
_IO_BUILTINS = frozenset({"open", "print", "input"})
_IO_MODULES = frozenset({
    "aiohttp", "asyncpg", "boto3", "ftplib", "http", "httpx", "io", "logging", "os", "pathlib",
    "psycopg", "psycopg2", "pymongo", "redis", "requests", "select", "shutil", "smtplib",
    "socket", "sqlalchemy", "sqlite3", "ssl", "subprocess", "sys", "tempfile", "time", "urllib",
    "urllib3",
})
_IO_METHODS = frozenset({
    "read", "readline", "readlines", "write", "writelines", "flush", "recv", "send", "sendall",
    "connect", "execute", "executemany", "commit", "rollback", "fetchone", "fetchall",
    "fetchmany", "query", "request", "urlopen",
})
# Methods that change their receiver: called on a parameter, the caller sees the change only if
# the function runs in the same process.
_MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "sort", "reverse",
    "update", "add", "discard", "setdefault",
})
_MUTABLE_FACTORIES = frozenset({"list", "dict", "set", "bytearray", "defaultdict", "deque",
                                "Counter", "OrderedDict"})

# What a function may call and still be shown to do no I/O (a rewrite needs that proof):
# builtins that only compute (``open``/``print``/``input`` are I/O; ``exec``/``eval``/
# ``__import__``/``breakpoint`` run anything), ...
_PURE_BUILTINS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "complex", "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset",
    "getattr", "hasattr", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter", "len",
    "list", "map", "max", "min", "next", "oct", "ord", "pow", "range", "repr", "reversed",
    "round", "set", "slice", "sorted", "str", "sum", "tuple", "type", "zip",
})
# ... the functions of standard modules that only compute, but for the few that read or write
# a file object they are given ...
_PURE_MODULES = frozenset({
    "array", "base64", "binascii", "bisect", "cmath", "collections", "copy", "dataclasses",
    "decimal", "difflib", "enum", "fractions", "functools", "hashlib", "heapq", "hmac",
    "itertools", "json", "math", "numbers", "operator", "random", "re", "secrets",
    "statistics", "string", "struct", "textwrap", "typing", "unicodedata", "zlib",
})
_IMPURE_IN_PURE_MODULES = frozenset({"json.load", "json.dump", "hashlib.file_digest"})
# ... and any method of a value known to be a builtin str/bytes/number/container (a literal, a
# comprehension, a builtin constructor's result, a parameter annotated ``list``/``str``/...).
# Everything else (a library call, a project class, a method of an object of unknown type, a
# callable parameter) may block: a function that calls it is never proven CPU-bound, only
# reported (CPU004) when its body looks heavy.
# Builtins that call the function they are given (``map(load, paths)`` calls ``load``).
_HIGHER_ORDER = frozenset({"map", "filter", "sorted", "min", "max", "reduce", "functools.reduce",
                           "starmap", "itertools.starmap"})

# Builtins that iterate their first argument to the end.
_CONSUMERS = frozenset({"sum", "min", "max", "sorted", "list", "tuple", "set", "frozenset",
                        "any", "all", "dict", "bytes", "bytearray"})

_MARKER = re.compile(rb"#\s*asyncfix:\s*cpu-bound\b")

# Parameter annotations whose values pickle (for the process pool's argument check).
_PLAIN_TYPES = frozenset({"int", "float", "complex", "str", "bytes", "bool", "list", "dict",
                          "tuple", "set", "frozenset", "List", "Dict", "Tuple", "Set",
                          "FrozenSet", "Optional", "Union", "Sequence", "Mapping", "None"})
# Calls whose result is a plain builtin value whatever their argument.
_PLAIN_RESULTS = frozenset({"int", "float", "str", "bytes", "bool", "len", "abs", "round"})

HELPER = "_cpu_bound_executor"
EXECUTOR_CHOICES = ("auto", "thread", "process")

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


# -- first pass: facts from each file's ast ------------------------------------------------------




def _const_int(node: ast.expr, consts: Mapping[str, int]) -> Optional[int]:
    """The value of a constant integer expression (``10**6``, ``1_000 * N`` with ``N = 1000``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _const_int(node.operand, consts)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _const_int(node.left, consts), _const_int(node.right, consts)
        if left is None or right is None:
            return None
        op = node.op
        if isinstance(op, ast.Pow):
            return left**right if 0 <= right <= 64 and abs(left) <= 10**6 else None
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.FloorDiv) and right:
            return left // right
        if isinstance(op, ast.LShift) and 0 <= right <= 64:
            return left << right
    return None


def _literal_size(node: ast.expr) -> Optional[int]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return len(node.elts)
    if isinstance(node, ast.Dict):
        return len(node.keys)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return len(node.value)
    return None


# Builtins whose result is a builtin value (str, number, container) whatever they are given.
_BUILTIN_RESULTS = frozenset({
    "abs", "ascii", "bin", "bool", "bytearray", "bytes", "chr", "complex", "dict", "divmod",
    "float", "format", "frozenset", "hex", "int", "len", "list", "oct", "ord", "repr", "round",
    "set", "sorted", "str", "tuple",
})


def _plain_type(node: Optional[ast.expr]) -> bool:
    """An annotation naming builtin values only: ``list``, ``dict[str, int]``, ``str | None``."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):
        return node.id in _PLAIN_TYPES
    if isinstance(node, ast.Attribute):
        return node.attr in _PLAIN_TYPES
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _plain_type(node.left) and _plain_type(node.right)
    if isinstance(node, ast.Subscript):
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return _plain_type(node.value) and all(
            _plain_type(e) or (isinstance(e, ast.Constant) and e.value is Ellipsis) for e in inner
        )
    return False


def _builtin_value(node: ast.expr, typed: Set[str] | FrozenSet[str], shadowed: Set[str] | FrozenSet[str]) -> bool:
    """``node`` certainly evaluates to a builtin str/bytes/number/container (its methods do
    no I/O): a literal, a display, a comprehension, an f-string, a builtin's result, a name in
    ``typed``; ``shadowed`` are the names that are not the builtins."""
    if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp,
                         ast.SetComp, ast.DictComp, ast.JoinedStr)):
        return True
    if isinstance(node, ast.Name):
        return node.id in typed
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in _BUILTIN_RESULTS and func.id not in shadowed
        # "".join(...), text.split(), ...: a method of a builtin value returns one.
        return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant)
    return False


class _Module(NamedTuple):
    consts: Dict[str, int]  # module-level NAME = <constant int>
    sizes: Dict[str, int]  # module-level NAME = <literal display>: its length
    mutables: FrozenSet[str]  # module-level names bound to mutable containers
    imports: Dict[str, Tuple[int, str, Optional[str]]]  # name -> (level, module, object)
    defs: FrozenSet[str]
    io_objects: FrozenSet[str]  # module-level names made by an I/O module (logger, session)
    typed: FrozenSet[str]  # module-level names bound once, to a builtin value
    names: FrozenSet[str]  # every module-level name bound (they shadow the builtins)


def _module_facts(tree: ast.Module) -> _Module:
    consts: Dict[str, int] = {}
    sizes: Dict[str, int] = {}
    mutables: Set[str] = set()
    imports: Dict[str, Tuple[int, str, Optional[str]]] = {}
    defs: Set[str] = set()
    bound: Dict[str, int] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value = stmt.targets[0].id, stmt.value
            bound[name] = bound.get(name, 0) + 1
            number = _const_int(value, consts)
            if number is not None:
                consts[name] = number
            size = _literal_size(value)
            if size is not None and not isinstance(value, ast.Constant):
                sizes[name] = size
            if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)) or (
                isinstance(value, ast.Call) and (dotted_name(value.func) or "").split(".")[-1] in _MUTABLE_FACTORIES
            ):
                mutables.add(name)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(stmt, ast.FunctionDef):
                defs.add(stmt.name)
            bound[stmt.name] = bound.get(stmt.name, 0) + 1
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.asname] = (0, alias.name, None)
                else:
                    root = alias.name.split(".")[0]
                    imports[root] = (0, root, None)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    imports[alias.asname or alias.name] = (node.level, node.module or "", alias.name)
    io_objects = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            made = (dotted_name(stmt.value.func) or "").split(".")[0]
            if made in imports and imports[made][0] == 0:
                level, module, obj = imports[made]
                if module.split(".")[0] in _IO_MODULES:
                    io_objects.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    names = set(bound) | set(imports) | {
        n.id
        for stmt in tree.body
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for n in walk(stmt)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    typed = {
        stmt.targets[0].id
        for stmt in tree.body
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        and _builtin_value(stmt.value, frozenset(), names)
    }
    # A name bound twice at module level is not a constant / not one function.
    for name, count in bound.items():
        if count > 1:
            consts.pop(name, None)
            sizes.pop(name, None)
            defs.discard(name)
            typed.discard(name)
    return _Module(consts, sizes, frozenset(mutables), imports, frozenset(defs), frozenset(io_objects),
                   frozenset(typed - set(imports)), frozenset(names))


def _short(node: ast.expr, limit: int = 30) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _FunctionScan:
    """Static facts about one module-level ``def``: its loops' costs, its calls, I/O, shared
    state. ``python``/``cost`` is proof of heavy work (constant trip counts); ``data`` is only a
    hint (loops whose size depends on the input); ``unknown`` lists calls that may block."""

    def __init__(self, fn: ast.FunctionDef, module: _Module) -> None:
        self.module = module
        args = fn.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        self.params = {a.arg for a in every}
        self.params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.consts = dict(module.consts)
        self.deps: Dict[str, Set[str]] = {}  # local name -> names its values are computed from
        self.locals: Set[str] = set(self.params)
        self._local_consts(fn)
        self.typed = self._typed_locals(fn, {a.arg for a in every if _plain_type(a.annotation)})
        self.python = False  # pure-Python heavy work of a constant cost (proof)
        self.cost = 0  # the largest constant iteration count seen
        self.data = ""  # nested loops over data of unknown size (a hint only)
        self.calls: Set[str] = set()  # dotted names as written, to resolve through the project
        self.unknown: List[str] = []  # calls that may block, as written
        self.io = False
        self.pure = True
        self.offloadable = True  # not a generator
        for decorator in fn.decorator_list:  # the wrapper runs too
            self._reference(decorator.func if isinstance(decorator, ast.Call) else decorator)
        for stmt in fn.body:
            self._visit(stmt, [])

    def _local_consts(self, fn: ast.FunctionDef) -> None:
        counts: Dict[str, int] = {}
        values: Dict[str, ast.expr] = {}
        for node in walk(fn):
            targets: List[ast.expr] = []
            source: Optional[ast.expr] = None
            if isinstance(node, ast.Assign):
                targets, source = node.targets, node.value
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
                targets, source = [node.target], node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets, source = [node.target], node.iter
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
                self.locals.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.locals.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets, source = [node.optional_vars], node.context_expr
            used = {n.id for n in walk(source) if isinstance(n, ast.Name)} if source is not None else set()
            for target in targets:
                for name in walk(target):
                    if isinstance(name, ast.Name):
                        self.locals.add(name.id)
                        self.deps.setdefault(name.id, set()).update(used)
                        counts[name.id] = counts.get(name.id, 0) + 1
                        if isinstance(node, ast.Assign):
                            values[name.id] = node.value
        for name, value in values.items():
            if counts[name] == 1 and name not in self.params:
                number = _const_int(value, self.consts)
                if number is not None:
                    self.consts[name] = number
        for name in counts:
            if name not in values or counts[name] > 1:
                self.consts.pop(name, None)

    def _typed_locals(self, fn: ast.FunctionDef, typed_params: Set[str]) -> Set[str]:
        """Names that only ever hold builtin values: parameters annotated with builtin types,
        locals every binding of which is a builtin value or a ``range`` item."""
        shadowed = self.locals | self.module.names
        bindings: Dict[str, List[Optional[ast.expr]]] = {}
        for node in walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    value = node.value if isinstance(target, ast.Name) else None
                    for name in walk(target):
                        if isinstance(name, ast.Name):
                            bindings.setdefault(name.id, []).append(value)
            elif isinstance(node, (ast.For, ast.comprehension)):
                ranged = (
                    isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
                    and node.iter.func.id == "range" and "range" not in shadowed
                    and isinstance(node.target, ast.Name)
                )
                for name in walk(node.target):
                    if isinstance(name, ast.Name):
                        bindings.setdefault(name.id, []).append(ast.Constant(0) if ranged else None)
            elif isinstance(node, ast.NamedExpr):
                bindings.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for name in walk(node.optional_vars):
                    if isinstance(name, ast.Name):
                        bindings.setdefault(name.id, []).append(None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
                bindings.setdefault(node.name, []).append(None)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bindings.setdefault(node.name, []).append(None)
            # An augmented assignment keeps the type of what the name holds.
        typed = {name for name in typed_params if name not in bindings}
        changed = True
        while changed:  # `a = []` then `b = a`: a name's values may come from typed names
            changed = False
            for name, values in bindings.items():
                if name in typed or name in self.params:
                    continue
                if all(v is not None and _builtin_value(v, typed | self.module.typed, shadowed) for v in values):
                    typed.add(name)
                    changed = True
        return typed

    def _sources(self, names: Set[str]) -> Set[str]:
        """``names`` and every local name their values are computed from, transitively."""
        seen = set(names)
        todo = list(names)
        while todo:
            for source in self.deps.get(todo.pop(), ()):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen

    # A loop level: its constant trip count (None: data-sized), the names it binds, its text.
    def _level(self, iterable: ast.expr, target: ast.expr) -> Tuple[Optional[int], Set[str], ast.expr]:
        names = {n.id for n in walk(target) if isinstance(n, ast.Name)}
        count: Optional[int] = None
        if isinstance(iterable, ast.Call) and dotted_name(iterable.func) == "range" and not iterable.keywords:
            bounds = [_const_int(a, self.consts) for a in iterable.args]
            if bounds and None not in bounds:
                start, stop, step = {1: lambda b: (0, b[0], 1), 2: lambda b: (b[0], b[1], 1)}.get(
                    len(bounds), lambda b: (b[0], b[1], b[2])
                )(bounds)
                count = max(0, -(-(stop - start) // step)) if step > 0 else None
        else:
            size = _literal_size(iterable)
            if size is None and isinstance(iterable, ast.Name):
                size = self.module.sizes.get(iterable.id)
            count = size
        return count, names, iterable

    def _loop(self, iterable: ast.expr, target: ast.expr, stack: List[Tuple[Optional[int], Set[str], ast.expr]]):
        count, _, _ = level = self._level(iterable, target)
        # What the iterable is computed from, through the function's assignments (`aliases =
        # get_aliases(field)` inside `for field in fields` depends on the outer loop).
        used = self._sources({n.id for n in walk(iterable) if isinstance(n, ast.Name)})
        known = 1
        for level_count, _, _ in stack:
            if level_count is not None:
                known *= level_count
        if count is not None and known * count >= ITERATIONS:
            # Every level's trip count is a constant: the cost is fixed by the code itself.
            if all(level_count is not None for level_count, _, _ in stack):
                self.python = True
                self.cost = max(self.cost, known * count)
        if count is None and not self.data:
            for level_count, level_names, outer in stack:
                if level_count is None and not (level_names & used):
                    # Two independent iterations over data: O(n*m) -- if the data is large,
                    # which nothing here says. A hint, not proof.
                    self.data = f"nested loops over `{_short(outer)}` and `{_short(iterable)}`"
                    break
        return stack + [level]

    def _visit(self, node: ast.AST, stack: List[Tuple[Optional[int], Set[str], ast.expr]], nested: bool = False) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            for child in iter_child_nodes(node):
                self._visit(child, [], nested=True)
            return
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom)) and not nested:
            self.offloadable = False
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            self.pure = False
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)):
                    root = target
                    while isinstance(root, (ast.Attribute, ast.Subscript)):
                        root = root.value
                    if isinstance(root, ast.Name) and (
                        root.id in self.params or root.id in self.module.mutables
                    ):
                        self.pure = False
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in self.module.mutables:
                self.pure = False
        elif isinstance(node, ast.Call):
            self._call(node)
            # sum(range(10**6)), sorted(range(n)): the builtin runs the loop.
            if not nested and dotted_name(node.func) in _CONSUMERS and node.args and not isinstance(node.args[0], ast.Starred):
                self._loop(node.args[0], ast.Tuple(elts=[], ctx=ast.Store()), stack)
        if not nested and isinstance(node, ast.For):
            self._visit(node.iter, stack)
            inner = self._loop(node.iter, node.target, stack)
            for child in [*node.body, *node.orelse]:
                self._visit(child, inner)
            return
        if not nested and isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = stack
            for generator in node.generators:
                self._visit(generator.iter, inner)
                inner = self._loop(generator.iter, generator.target, inner)
                for condition in generator.ifs:
                    self._visit(condition, inner)
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for element in elements:
                self._visit(element, inner)
            return
        for child in iter_child_nodes(node):
            self._visit(child, stack, nested)

    def _unknown(self, text: str) -> None:
        if text not in self.unknown:
            self.unknown.append(text)

    def _reference(self, func: ast.expr) -> None:
        """``func`` is called (directly, as a decorator, or by map/sorted/...): what is it?"""
        name = dotted_name(func)
        module = self.module
        if name is None:
            if isinstance(func, ast.Attribute) and func.attr in _IO_METHODS:
                self.io = True
            elif isinstance(func, ast.Attribute) and _builtin_value(func.value, self.typed | module.typed, self.locals | module.names):
                pass  # "".join(...), [..].count(x): methods of builtin values
            else:
                self._unknown(_short(func))
            return
        root, _, rest = name.partition(".")
        method = name.rsplit(".", 1)[-1]
        local = root in self.locals
        if not rest and name in _IO_BUILTINS and not local and name not in module.names:
            self.io = True
        elif root in module.imports and not local:
            level, imported, obj = module.imports[root]
            target = imported if obj is None else f"{imported}.{obj}"
            if level == 0 and target.split(".")[0] in _IO_MODULES:
                self.io = True
            else:
                self.calls.add(name)  # the project index says what it is
        elif rest and (method in _IO_METHODS or (not local and root in module.io_objects)):
            self.io = True
        elif local:
            if not (rest and root in self.typed):  # a method of a local builtin value is fine
                self._unknown(name)
        elif root in module.defs or (rest and root in module.names and root not in module.typed):
            self.calls.add(name)  # a project function, or a method of a module-level instance
        elif rest and root in module.typed:
            pass
        elif not rest and name in _PURE_BUILTINS and name not in module.names:
            pass
        else:
            self._unknown(name)

    def _call(self, node: ast.Call) -> None:
        self._reference(node.func)
        name = dotted_name(node.func)
        # Callables handed to a builtin that calls them: map(load, paths), sorted(xs, key=f).
        given = [a for a in node.args if isinstance(a, (ast.Name, ast.Attribute))] if name in _HIGHER_ORDER else []
        given += [k.value for k in node.keywords if k.arg == "key" and isinstance(k.value, (ast.Name, ast.Attribute))]
        for func in given:
            if not (isinstance(func, ast.Name) and func.id in _PURE_BUILTINS and func.id not in self.locals | self.module.names):
                self._reference(func)
        if name is not None:
            root, _, rest = name.partition(".")
            if rest and root in self.params and name.rsplit(".", 1)[-1] in _MUTATING_METHODS:
                self.pure = False


def _marked(fn: ast.FunctionDef, lines: List[bytes]) -> bool:
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    # The comment may stand on the def line, on a decorator line or on the line just above.
    return any(_MARKER.search(lines[i - 1]) for i in range(max(1, first - 1), fn.lineno + 1) if i <= len(lines))


def scan(tree: ast.Module, source: bytes) -> Optional[Dict[str, Any]]:
    """One file's facts: its module-level functions and instances, names as written."""
    module = _module_facts(tree)
    lines = source.splitlines()
    functions: Dict[str, Dict[str, Any]] = {}
    instances: Dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name in module.defs:
            found = _FunctionScan(stmt, module)
            functions[stmt.name] = {
                "python": found.python,
                "cost": found.cost,
                "data": found.data,
                "calls": sorted(found.calls),
                "unknown": found.unknown,
                "io": found.io,
                "pure": found.pure and not stmt.decorator_list,
                "offloadable": found.offloadable,
                "marked": _marked(stmt, lines),
            }
        elif (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
        ):
            made = dotted_name(stmt.value.func)
            if made is not None:
                instances[stmt.targets[0].id] = made
    if not functions and not instances:
        return None
    return {"imports": module.imports, "functions": functions, "instances": instances}


def _qualify(raw: str, file: Dict[str, Any], path: str, root: str, own: Optional[str]) -> Optional[str]:
    head, _, rest = raw.partition(".")
    imports = file["imports"]
    if head in imports:
        level, module, obj = imports[head]
        base = module if obj is None else (f"{module}.{obj}" if module else obj)
        if level:
            base = resolve_relative("." * level + base, path, root) or ""
            if not base:
                return None
        return f"{base}.{rest}" if rest else base
    if head in file["functions"] or head in file["instances"]:
        if own is None:
            return f"<{path}>.{raw}"
        return f"{own}.{raw}"
    return None


class CpuFacts(NamedTuple):
    """The combined index: callables by qualified name, and by (path, name) for the file itself."""

    functions: Dict[str, Callee]
    local: Dict[str, Dict[str, Callee]]  # path -> module-level name -> facts
    instances: Dict[str, str]  # qualified instance name -> qualified class name
    local_instances: Dict[str, Dict[str, str]]
    names: FrozenSet[str]  # simple names worth parsing a file for (heavy or looking it)


def combine_facts(facts: Mapping[str, Any], root: str) -> CpuFacts:
    nodes: Dict[str, Dict[str, Any]] = {}  # key -> function facts + resolved calls
    aliases: Dict[str, str] = {}  # every qualified name of a function -> its key
    instances: Dict[str, str] = {}
    local_instances: Dict[str, Dict[str, str]] = {}
    for path, file in facts.items():
        names = module_names(path, root)
        own = names[0] if names else None
        for name, function in file["functions"].items():
            key = f"{own}.{name}" if own else f"<{path}>.{name}"
            aliases[key] = key
            for module in names[1:]:
                aliases[f"{module}.{name}"] = key
            calls = [(raw, _qualify(raw, file, path, root, own)) for raw in function["calls"]]
            nodes[key] = {**function, "calls": calls, "path": path, "name": name}
        for name, made in file["instances"].items():
            made_q = _qualify(made, file, path, root, own)
            if made_q is None or not any(made_q == cls for cls, _ in KNOWN_HEAVY_METHODS):
                continue
            local_instances.setdefault(path, {})[name] = made_q
            for module in names:
                instances[f"{module}.{name}"] = made_q
    # What each call is: the table (proof of heavy work), a project function (an edge), a pure
    # standard-library function, or unknown (it may block: no proof for this function).
    edges: Dict[str, List[str]] = {key: [] for key in nodes}
    state: Dict[str, Dict[str, Any]] = {}
    for key, node in nodes.items():
        mine = state[key] = {
            "python": node["python"],
            "gil_free": False,
            "io": node["io"],
            "pure": node["pure"],
            "blocker": (node["unknown"] or [""])[0],  # a call that may block, as written
            # what makes it look heavy, and in which function (the first found)
            "why": (f"{node['cost']:,} loop iterations over constant ranges", "") if node["python"] else (
                (node["data"], "") if node["data"] else ("", "")
            ),
        }
        for raw, call in node["calls"]:
            callee = aliases.get(call) if call is not None else None
            owner, _, method = (call or "").rpartition(".")
            if call is None:
                mine["blocker"] = mine["blocker"] or raw
            elif call in KNOWN_HEAVY or (instances.get(owner), method) in KNOWN_HEAVY_METHODS:
                gil_free = KNOWN_HEAVY[call] if call in KNOWN_HEAVY else KNOWN_HEAVY_METHODS[(instances[owner], method)]
                mine["gil_free" if gil_free else "python"] = True
                if not node["python"]:
                    mine["why"] = (f"a call of `{raw}`", "")
            elif owner in instances:
                pass  # another method of a password hasher: computes, does no I/O
            elif callee is not None:
                if callee != key:
                    edges[key].append(callee)
            elif call.split(".")[0] not in _PURE_MODULES or call in _IMPURE_IN_PURE_MODULES:
                mine["blocker"] = mine["blocker"] or raw
    # Propagate along calls until nothing changes: I/O, impurity (the callee would run in the
    # worker as well), a call that may block, what looks heavy, and -- from callees that are
    # proven CPU-bound -- heavy work itself.
    def proven(key: str) -> bool:
        theirs = state[key]
        return nodes[key]["marked"] or (
            (theirs["python"] or theirs["gil_free"]) and not theirs["io"] and not theirs["blocker"]
        )

    changed = True
    while changed:
        changed = False
        for key in nodes:
            mine = state[key]
            for callee in edges[key]:
                theirs = state[callee]
                marked = nodes[callee]["marked"]  # declared CPU-bound: taken at its word
                updates = {
                    "python": mine["python"] or (proven(callee) and (theirs["python"] or marked)),
                    "gil_free": mine["gil_free"] or (proven(callee) and theirs["gil_free"]),
                    "io": mine["io"] or theirs["io"],
                    "pure": mine["pure"] and theirs["pure"],
                    "blocker": mine["blocker"] or ("" if marked else theirs["blocker"]),
                    "why": mine["why"] if mine["why"][0] else (
                        (theirs["why"][0], theirs["why"][1] or nodes[callee]["name"]) if theirs["why"][0] else
                        (("a call of a function marked CPU-bound", nodes[callee]["name"]) if marked else ("", ""))
                    ),
                }
                if updates != mine:
                    state[key] = mine = updates
                    changed = True
    functions: Dict[str, Callee] = {}
    local: Dict[str, Dict[str, Callee]] = {}
    simple: Set[str] = set()
    for key, node in nodes.items():
        found = state[key]
        heavy = node["offloadable"] and (node["marked"] or proven(key))
        # Pure-Python unless the only evidence is GIL-releasing calls (a function named by the
        # marker or the option without evidence is taken to be pure Python).
        holds_gil = found["python"] or not found["gil_free"]
        evidence = ""
        text, where = found["why"]
        if not heavy and node["offloadable"] and not found["io"] and text:
            evidence = text + (f" (in `{where}`)" if where else "")
            if found["blocker"]:
                evidence += f"; it calls `{found['blocker']}`, which asyncfix cannot show does no I/O"
        callee = Callee(heavy, holds_gil, node["offloadable"] and found["pure"], evidence)
        local.setdefault(node["path"], {})[node["name"]] = callee
        if heavy or evidence:
            simple.add(node["name"])
    for alias, key in aliases.items():
        node = nodes[key]
        functions[alias] = local[node["path"]][node["name"]]
    for name in instances:
        simple.add(name.rpartition(".")[2])
    return CpuFacts(functions, local, instances, local_instances, frozenset(simple))


# -- the rewrite ---------------------------------------------------------------------------------


def _plain_annotation(node: Optional[cst.Annotation]) -> bool:
    """``int``, ``list[str]``, ``Optional[bytes]``, ``Annotated[int, Query()]``, ``str | None``."""
    if node is None:
        return False

    def plain(expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Name):
            return expr.value in _PLAIN_TYPES
        if isinstance(expr, cst.Attribute):  # typing.List
            return expr.attr.value in _PLAIN_TYPES
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return plain(expr.left) and plain(expr.right)
        if isinstance(expr, cst.Subscript):
            base = expr.value
            base_name = base.value if isinstance(base, cst.Name) else (
                base.attr.value if isinstance(base, cst.Attribute) else ""
            )
            elements = [
                e.slice.value for e in expr.slice if isinstance(e.slice, cst.Index)
            ]
            if base_name == "Annotated":
                return bool(elements) and plain(elements[0])
            return plain(base) and all(plain(e) or isinstance(e, cst.Ellipsis) for e in elements)
        return isinstance(expr, cst.Name) and expr.value == "None"

    return plain(node.annotation)


# What a coroutine must use to lead to a rewrite without a project fact (Codemod.ASYNC_TARGETS,
# for wants()): the library table, the classes whose instances hash (a module-level instance in
# this file resolves to its class), multiprocessing, asyncio.get_event_loop.
_ASYNC_TARGETS = frozenset(
    {*KNOWN_HEAVY, *(cls for cls, _ in KNOWN_HEAVY_METHODS)}
    | {"multiprocessing", "asyncio.get_event_loop"}
)


class CpuToExecutor(Codemod):
    NAME = "cpu_to_executor"
    DESCRIPTION = "CPU-bound calls in async code -> a process pool, or asyncio.to_thread"
    # Library names and the marker; project functions come from the index (see wants()).
    NEEDS = (
        b"pbkdf2_hmac", b"scrypt", b"bcrypt", b"passlib", b"CryptContext", b"argon2",
        b"PasswordHasher", b"Pool", b"get_event_loop",
    )
    ASYNC_TARGETS = _ASYNC_TARGETS
    # Per coroutine; a heavy function is known through the project index, by name (and a def
    # of this file that is one names itself, so the reduction keeps it: see reduction_tokens).
    LOCAL = True
    CODES = {
        CPU001: (
            "A CPU-bound call in a coroutine that asyncfix left on the event loop: it holds the\n"
            "loop (every other request waits) for its whole duration. Cases:\n"
            "- inside a generator expression: `await` there makes an async generator. Use a list\n"
            "  comprehension or a loop, then rerun.\n"
            "- a name the rewrite needs (`asyncio`, `functools`, `_cpu_bound_executor`) is bound\n"
            "  to something else here: rename it, then rerun.\n"
            "By hand: `await asyncio.to_thread(f, *args)` for code that releases the GIL,\n"
            "`await asyncio.get_running_loop().run_in_executor(process_pool, f, *args)` else."
        ),
        CPU002: (
            "Pure-Python CPU work was moved to the default thread pool, not to a process pool:\n"
            "it still holds the GIL, so the event loop is freed only partly. A process pool\n"
            "needs a module-level function that uses no shared mutable state and arguments that\n"
            "pickle; asyncfix could not show that here (an argument it cannot type, a function\n"
            "that mutates its arguments or module state, a decorated or nested function).\n"
            "Annotate the route's parameters with plain types (int, str, list[int], ...) or pass\n"
            "plain values, or set `[tool.asyncfix] cpu-executor = \"process\"` if you know the\n"
            "call pickles."
        ),
        CPU003: (
            "multiprocessing.Pool used in a coroutine: creating, using and closing the pool all\n"
            "block the event loop. asyncfix rewrites `with Pool() as p:` whose body only calls\n"
            "`p.apply(f, args, kwds)` / `p.map(f, items)`, and `Pool().apply/map(...)`; it leaves\n"
            "apply_async/starmap/imap, pools with an initializer, and pools made elsewhere.\n"
            "By hand: one module-level concurrent.futures.ProcessPoolExecutor and\n"
            "`await loop.run_in_executor(pool, f, *args)`."
        ),
        CPU004: (
            "A call in a coroutine of a project function that looks CPU-heavy, left on the event\n"
            "loop because nothing proves it is CPU-bound. asyncfix moves a call to an executor\n"
            "only on proof: a known API (password hashing), your declaration, or a cost the code\n"
            "fixes itself (loops over constant ranges, 100,000+ iterations) in a function that\n"
            "calls nothing that may block. Reported instead:\n"
            "- nested loops over data of unknown size (`for a in xs: for b in ys`): heavy only if\n"
            "  the data is large, which nothing in the code says;\n"
            "- heavy work in a function that also calls something asyncfix cannot see into (a\n"
            "  library, a class, a method of an object of unknown type): it may do I/O (a\n"
            "  database query, plotting, a file), and I/O does not belong in a process pool.\n"
            "If the function is CPU-bound, mark its def `# asyncfix: cpu-bound` or list it in\n"
            "`[tool.asyncfix] cpu-bound = [\"pkg.module.func\"]`, then rerun; if it does I/O, the\n"
            "call wants `await asyncio.to_thread(f, ...)` (or an async version of the I/O)."
        ),
    }

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes) -> Any:
        if b"def " not in source and b"= " not in source:
            return None
        return scan(tree, source)

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        return combine_facts(facts, root)

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        if b"async" not in source:
            return False
        in_coroutines = project.coroutine_names(path) if project is not None else None
        if any(token in source for token in cls.NEEDS):
            if in_coroutines is None or cls.in_coroutines(in_coroutines, source):
                return True
        facts = project.get(cls.NAME) if project is not None else None
        if not isinstance(facts, CpuFacts):
            return b"def " in source  # no first pass ran: look at the file itself
        # Heavy project functions and instances by name, and the functions the option names.
        configured = getattr(project, "options", {}).get("cpu_bound", ())
        names = facts.names | {name.rpartition(".")[2] for name in configured}
        if in_coroutines is not None:  # called in a coroutine, through an import or a def here
            return any(called(name) in in_coroutines for name in names)
        return any(name.encode() in source for name in names)

    @classmethod
    def reduction_tokens(cls, path: str, project: Optional[ProjectIndex]) -> Set[str]:
        tokens = super().reduction_tokens(path, project)
        tokens |= {"asyncfix: cpu-bound", "Pool", "get_event_loop", "multiprocessing"}
        facts = project.get(cls.NAME) if project is not None else None
        if isinstance(facts, CpuFacts):
            tokens |= set(facts.names)
        configured = getattr(project, "options", {}).get("cpu_bound", ())
        return tokens | {name.rpartition(".")[2] for name in configured}

    # -- per-file state ------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        facts = self.file.project.get(self.NAME)
        filename = self.file.filename
        root = self.file.project.root
        if not isinstance(facts, CpuFacts) or filename not in facts.local:
            own = scan(syntax.parse(self.file.source), self.file.source.encode())
            if own is not None:
                local = combine_facts({filename: own}, root)
                facts = local if not isinstance(facts, CpuFacts) else CpuFacts(
                    {**local.functions, **facts.functions},
                    {**facts.local, **local.local},
                    {**local.instances, **facts.instances},
                    {**facts.local_instances, **local.local_instances},
                    facts.names | local.names,
                )
        self.facts: Optional[CpuFacts] = facts if isinstance(facts, CpuFacts) else None
        self.own_names = module_names(filename, root) if filename else []
        options = self.file.options
        self.executor_mode: str = options.get("cpu_executor", "auto")
        if self.executor_mode not in EXECUTOR_CHOICES:
            raise ValueError(f"[tool.asyncfix] cpu-executor must be one of {EXECUTOR_CHOICES}")
        self.configured: FrozenSet[str] = frozenset(options.get("cpu_bound", ()))
        self.awaited_ids: Set[int] = set()
        self.need_helper = False
        # id(With) -> (pool name, ids of its p.apply/p.map calls), for `with Pool() as p:` to unwrap
        self.pool_withs: Dict[int, Tuple[str, FrozenSet[int]]] = {}
        self.pool_calls: Set[int] = set()
        self.pool_rewritten: Set[int] = set()
        self.bindings: Dict[int, cst.BaseExpression] = {}  # id(Name target) -> bound value
        # The helper is reused when a module-level def has its name (a second run); anything
        # else bound to that name blocks the process pool in this module.
        scope = self.module_scope = self.get_metadata(ScopeProvider, node)
        bound = [a.node for a in scope[HELPER]]
        self.helper_exists = any(isinstance(b, cst.FunctionDef) for b in bound)
        self.helper_blocked = any(not isinstance(b, cst.FunctionDef) for b in bound)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Await(self, node: cst.Await) -> None:
        self.awaited_ids.add(id(node.expression))

    # -- what a call refers to -----------------------------------------------------------------

    def _qualified(self, func: cst.BaseExpression) -> Tuple[Optional[str], Optional[str]]:
        """(qualified name, module-level local name) of a called expression."""
        name = self.imported_name(func)
        if name is not None:
            if name.startswith("."):
                name = resolve_relative(name, self.file.filename, self.file.project.root)
            return name, None
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return None, None
        scope = self.get_metadata(ScopeProvider, root, None)
        if scope is None:
            return None, None
        assignments = list(scope[root.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return None, None
        bound = assignments[0].node
        if isinstance(bound, cst.FunctionDef) and func is root:
            local = root.value
        elif isinstance(bound, cst.Name) and isinstance(func, cst.Attribute) and func.value is root:
            local = f"{root.value}.{func.attr.value}"
        else:
            return None, None
        own = f"{self.own_names[0]}.{local}" if self.own_names else None
        return own, local

    def _callee(self, func: cst.BaseExpression) -> Optional[Tuple[Callee, str]]:
        """Facts for a CPU-bound callee, and how it was recognised."""
        name, local = self._qualified(func)
        if name is None and local is None:
            return None
        facts = self.facts
        if name in KNOWN_HEAVY:
            return Callee(True, not KNOWN_HEAVY[name], True), "table"
        owner, _, method = (local or name or "").rpartition(".")
        if facts is not None and owner:
            made = None
            if local is not None:
                made = facts.local_instances.get(self.file.filename, {}).get(owner)
            elif name is not None:
                made = facts.instances.get(name.rpartition(".")[0])
            if made is not None and (made, method) in KNOWN_HEAVY_METHODS:
                return Callee(True, not KNOWN_HEAVY_METHODS[(made, method)], False), "table"
        known: Optional[Callee] = None
        if facts is not None:
            if local is not None and "." not in local:
                known = facts.local.get(self.file.filename, {}).get(local)
            elif name is not None:
                known = facts.functions.get(name)
        configured = (name is not None and name in self.configured) or (
            local is not None and any(f"{module}.{local}" in self.configured for module in self.own_names)
        )
        if configured:
            if known is not None:
                return known._replace(heavy=True), "option"
            # A library function named in the option: whether it holds the GIL is unknown, so
            # the thread pool unless `cpu-executor = "process"` (it is a module attribute:
            # picklable by reference).
            return Callee(True, False, local is None and name is not None), "option"
        if known is not None and (known.heavy or known.evidence):
            return known, "project"  # not heavy: only looks it (CPU004)
        return None

    def _plain_value(self, expr: cst.BaseExpression, where: cst.FunctionDef) -> bool:
        """True when ``expr`` certainly evaluates to plain, picklable data."""
        if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
                             cst.ConcatenatedString, cst.FormattedString)):
            return True
        if isinstance(expr, cst.Name):
            if expr.value in ("None", "True", "False"):
                return True
            scope = self.get_metadata(ScopeProvider, expr, None)
            if not isinstance(scope, FunctionScope) or scope.node is not where:
                return False
            params = where.params
            for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
                if param.name.value == expr.value:
                    assignments = list(scope[expr.value])
                    return len(assignments) == 1 and _plain_annotation(param.annotation)
            return False
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return all(
                isinstance(e, cst.Element) and self._plain_value(e.value, where) for e in expr.elements
            )
        if isinstance(expr, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and self._plain_value(e.key, where)
                and self._plain_value(e.value, where)
                for e in expr.elements
            )
        if isinstance(expr, cst.UnaryOperation):
            return self._plain_value(expr.expression, where)
        if isinstance(expr, cst.BinaryOperation):
            return self._plain_value(expr.left, where) and self._plain_value(expr.right, where)
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Name) and expr.func.value in _PLAIN_RESULTS:
                return self.get_metadata(ScopeProvider, expr.func, None) is not None and not any(
                    True for _ in self.get_metadata(ScopeProvider, expr.func)[expr.func.value]
                )
            if m.matches(expr.func, m.Attribute(attr=m.Name("encode") | m.Name("lower") | m.Name("upper") | m.Name("strip"))):
                return self._plain_value(expr.func.value, where) and all(
                    self._plain_value(a.value, where) for a in expr.args if not a.star
                )
        return False

    def _executor(self, call: cst.Call, callee: Callee, where: cst.FunctionDef) -> Tuple[str, str]:
        """("process" | "thread", why a wanted process pool was not used or "")."""
        if self.executor_mode == "thread":
            return "thread", ""
        wants_process = callee.holds_gil or self.executor_mode == "process"
        if not wants_process:
            return "thread", ""
        if not callee.process_safe:
            return "thread", "the function is not module-level, is decorated, or uses shared state"
        if any(not self._plain_value(arg.value, where) for arg in call.args):
            return "thread", "an argument is not known to be picklable"
        if self.helper_blocked:
            return "thread", f"the name `{HELPER}` is taken in this module"
        return "process", ""

    # -- building the new code -----------------------------------------------------------------

    def _executor_expr(self, kind: str) -> cst.BaseExpression:
        if kind == "process":
            self.need_helper = True
            return cst.Call(func=cst.Name(HELPER))
        return cst.Name("None")

    def _offload(
        self, node: cst.CSTNode, func: cst.BaseExpression, args: List[cst.Arg], kind: str
    ) -> Optional[cst.Await]:
        """``await asyncio.to_thread(func, *args, **kwargs)`` for the thread pool;
        ``await asyncio.get_running_loop().run_in_executor(_cpu_bound_executor(), func, *args)``
        for the process pool, via ``functools.partial`` when there are keyword arguments. None
        when a name is taken."""
        if not self.name_is_free(node, "asyncio", "asyncio"):
            return None
        args = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in args]
        if kind == "thread":
            self.add_needed_import("asyncio")
            return _to_thread([cst.Arg(func), *args])
        keywords = any(arg.keyword is not None or arg.star == "**" for arg in args)
        if (keywords or not self.helper_exists) and not self.name_is_free(node, "functools", "functools"):
            return None
        if not self.helper_exists and not self._pool_class_is_free():
            return None
        self.add_needed_import("asyncio")
        if keywords:
            self.add_needed_import("functools")
            target = [cst.Arg(cst.Call(
                func=cst.Attribute(cst.Name("functools"), cst.Name("partial")),
                args=[cst.Arg(func), *args],
            ))]
        else:
            target = [cst.Arg(func), *args]
        run = cst.Call(
            func=cst.Attribute(
                value=cst.Call(func=cst.Attribute(cst.Name("asyncio"), cst.Name("get_running_loop"))),
                attr=cst.Name("run_in_executor"),
            ),
            args=[cst.Arg(self._executor_expr(kind)), *target],
        )
        return awaited(run)

    def _pool_class_is_free(self) -> bool:
        """``ProcessPoolExecutor`` at module level is unbound or ``concurrent.futures``'."""
        for assignment in self.module_scope["ProcessPoolExecutor"]:
            statement = assignment.node
            if not (
                isinstance(statement, cst.ImportFrom)
                and statement.module is not None
                and not statement.relative
                and cst.helpers.get_full_name_for_node(statement.module) == "concurrent.futures"
            ):
                return False
        return True

    # -- the visitors --------------------------------------------------------------------------

    def visit_With(self, node: cst.With) -> None:
        """Mark ``with Pool() as p:`` blocks whose body only calls ``p.apply``/``p.map``."""
        if len(node.items) != 1 or node.asynchronous is not None:
            return
        item = node.items[0]
        if not (isinstance(item.item, cst.Call) and self._is_pool(item.item) and self._pool_args_ok(item.item)):
            return
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            return
        where = self.coroutine_of(node)
        if not isinstance(where, cst.FunctionDef):
            return
        name = item.asname.name.value
        uses = m.findall(node.body, m.Name(name))
        calls = [
            call
            for call in m.findall(
                node.body,
                m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("apply") | m.Name("map"))),
            )
            if self.coroutine_of(call) is where and self._pool_call_args(call) is not None
        ]
        scope = self.get_metadata(ScopeProvider, item.asname.name, None)
        if scope is None or len(list(scope[name])) != 1:
            return
        everywhere = [access for access in scope.accesses[name]]
        if not calls or len(calls) != len(uses) or len(everywhere) != len(uses):
            return
        self.pool_withs[id(node)] = (name, frozenset(id(call) for call in calls))
        self.pool_calls.update(id(call) for call in calls)

    def _is_pool(self, call: cst.Call) -> bool:
        return self.imported_name(call.func) in ("multiprocessing.Pool", "multiprocessing.pool.Pool")

    @staticmethod
    def _pool_args_ok(call: cst.Call) -> bool:
        """``Pool()``, ``Pool(4)``, ``Pool(processes=4)``: nothing else the executor would lose."""
        return all(
            (arg.keyword is None or arg.keyword.value == "processes") and not arg.star
            and isinstance(arg.value, (cst.Integer, cst.Name))
            for arg in call.args
        ) and len(call.args) <= 1

    @staticmethod
    def _pool_call_args(call: cst.Call) -> Optional[Tuple[str, cst.BaseExpression, List[cst.Arg]]]:
        """(method, function, arguments of the executor call) for ``p.apply``/``p.map``."""
        method = call.func.attr.value  # type: ignore[union-attr]
        names = ("func", "args", "kwds") if method == "apply" else ("func", "iterable", "chunksize")
        bound: Dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            if arg.star:
                return None
            key = arg.keyword.value if arg.keyword is not None else (names[index] if index < 3 else "")
            if key not in names or key in bound:
                return None
            bound[key] = arg.value
        func = bound.get("func")
        if func is None or not m.matches(func, m.Name() | m.Attribute()):
            return None
        if method == "map":
            if "iterable" not in bound:
                return None
            extra = [cst.Arg(bound["iterable"])]
            if "chunksize" in bound:
                extra.append(cst.Arg(bound["chunksize"], keyword=cst.Name("chunksize")))
            return method, func, extra
        args: List[cst.Arg] = []
        given = bound.get("args")
        if isinstance(given, (cst.Tuple, cst.List)):
            for element in given.elements:
                star = "*" if isinstance(element, cst.StarredElement) else ""
                args.append(cst.Arg(element.value, star=star))
        elif given is not None:
            args.append(cst.Arg(given, star="*"))
        kwds = bound.get("kwds")
        if isinstance(kwds, cst.Dict) and all(
            isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
            and e.key.evaluated_value.isidentifier()  # type: ignore[union-attr]
            for e in kwds.elements
        ):
            for element in kwds.elements:
                args.append(cst.Arg(element.value, keyword=cst.Name(element.key.evaluated_value)))  # type: ignore
        elif kwds is not None:
            args.append(cst.Arg(kwds, star="**"))
        return method, func, args

    def _pool_rewrite(self, original: cst.Call, updated: cst.Call) -> Optional[cst.BaseExpression]:
        found = self._pool_call_args(updated)
        if found is None:
            return None
        method, func, args = found
        # The code asked for processes already (and Pool pickles just like the executor).
        kind = "thread" if self.executor_mode == "thread" or self.helper_blocked else "process"
        if method == "apply":
            return self._offload(original, func, args, kind)
        # Pool.map -> the executor's map (same order, same chunking), its results collected by
        # list() in a thread (asyncio.to_thread), so the loop never waits on them.
        if not self.name_is_free(original, "asyncio", "asyncio"):
            return None
        if kind == "process":
            mapped = cst.Call(
                func=cst.Attribute(self._executor_expr("process"), cst.Name("map")),
                args=[cst.Arg(func), *args],
            )
        else:
            mapped = cst.Call(func=cst.Name("map"), args=[cst.Arg(func), args[0]])
        self.add_needed_import("asyncio")
        return _to_thread([cst.Arg(cst.Name("list")), cst.Arg(mapped)])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.ignored(original):
            return updated
        func = original.func
        # asyncio.get_event_loop() in a coroutine is the running loop: say so.
        if m.matches(func, m.Attribute(attr=m.Name("get_event_loop")) | m.Name("get_event_loop")):
            if self.imported_name(func) == "asyncio.get_event_loop" and self.coroutine_of(original) is not None:
                if isinstance(func, cst.Attribute):
                    self.rewrote()
                    return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("get_running_loop")))  # type: ignore
                if self.name_is_free(original, "asyncio", "asyncio"):
                    self.add_needed_import("asyncio")
                    self.drop_import_if_unused(func)
                    self.rewrote()
                    return updated.with_changes(func=cst.parse_expression("asyncio.get_running_loop"))
            return updated
        if id(original) in self.pool_calls:
            new = self._pool_rewrite(original, updated)
            if new is not None:
                self.pool_rewritten.add(id(original))
                self.rewrote()
                return new
            return updated
        if m.matches(func, m.Attribute(value=m.Call(), attr=m.Name())):
            return self._direct_pool(original, updated)
        if m.matches(func, m.Attribute(value=m.Name(), attr=m.Name("apply") | m.Name("map") | m.Name("apply_async") | m.Name("starmap") | m.Name("imap") | m.Name("imap_unordered") | m.Name("map_async"))):
            self._report_pool_method(original)
        if id(original) in self.awaited_ids:
            return updated
        found = self._callee(func)
        if found is None:
            return updated
        callee, _ = found
        where = self.coroutine_of(original)
        if where is None:
            return updated
        if not callee.heavy:
            # Evidence that depends on data, or heavy work next to a call that may block: no
            # proof, so no rewrite; say what was seen.
            name = cst.helpers.get_full_name_for_node(func) or "this function"
            self.report(
                original, CPU004,
                f"`{name}` may be CPU-bound, but nothing proves it, so it stays on the event loop: {callee.evidence}",
                "if it is CPU-bound, mark its def `# asyncfix: cpu-bound` (or list it in `[tool.asyncfix] cpu-bound`)",
            )
            return updated
        if where is GENEXP:
            self.report(
                original, CPU001,
                "CPU-bound call in a generator expression inside a coroutine blocks the event loop",
                "turn the generator expression into a loop or list comprehension, then rerun",
            )
            return updated
        assert isinstance(where, cst.FunctionDef)
        kind, why = self._executor(original, callee, where)
        new = self._offload(original, updated.func, list(updated.args), kind)
        if new is None:
            self.report(
                original, CPU001,
                "CPU-bound call in a coroutine, but a name the rewrite needs is bound to something else",
                "rename the local `asyncio`/`functools`/`concurrent`, then rerun",
            )
            return updated
        if why:
            self.report(
                original, CPU002,
                f"pure-Python CPU work runs in the thread pool and still holds the GIL: {why}",
                "pass plain, annotated values to a module-level function, or see --explain CPU002",
            )
        self.rewrote()
        return new

    def _direct_pool(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``Pool().apply(f)`` / ``Pool().map(f, xs)`` in a coroutine."""
        pool = original.func.value  # type: ignore[union-attr]
        if not (isinstance(pool, cst.Call) and self._is_pool(pool)):
            return updated
        where = self.coroutine_of(original)
        if not isinstance(where, cst.FunctionDef):
            return updated
        method = original.func.attr.value  # type: ignore[union-attr]
        if method in ("apply", "map") and self._pool_args_ok(pool):
            new = self._pool_rewrite(original, updated)
            if new is not None:
                self.drop_import_if_unused(pool.func)
                self.rewrote()
                return new
        self.report(
            original, CPU003,
            f"multiprocessing.Pool().{method}() in a coroutine blocks the event loop",
            "use one module-level ProcessPoolExecutor and await loop.run_in_executor",
        )
        return updated

    def _report_pool_method(self, call: cst.Call) -> None:
        receiver = call.func.value  # type: ignore[union-attr]
        if id(call) in self.pool_calls or not isinstance(self.coroutine_of(call), cst.FunctionDef):
            return
        scope = self.get_metadata(ScopeProvider, receiver, None)
        if scope is None:
            return
        for assignment in scope[receiver.value]:
            bound = assignment.node
            parent = self.bindings.get(id(bound))
            if isinstance(parent, cst.Call) and self._is_pool(parent):
                self.report(
                    call, CPU003,
                    f"multiprocessing.Pool.{call.func.attr.value}() in a coroutine blocks the event loop",  # type: ignore
                    "use one module-level ProcessPoolExecutor and await loop.run_in_executor",
                )
                return

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.bindings[id(target.target)] = node.value

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.bindings[id(node.asname.name)] = node.item

    def leave_With(self, original: cst.With, updated: cst.With) -> Any:
        """Unwrap ``with Pool() as p:`` once every use of ``p`` in it was rewritten."""
        if id(original) not in self.pool_withs:
            return updated
        _, calls = self.pool_withs[id(original)]
        if not calls <= self.pool_rewritten or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        self.drop_import_if_unused(original.items[0].item.func)  # type: ignore[attr-defined]
        body = list(updated.body.body)
        first = body[0]
        body[0] = first.with_changes(leading_lines=[*updated.leading_lines, *first.leading_lines])
        return cst.FlattenSentinel(body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.need_helper or self.helper_exists:
            return updated
        self.add_needed_import("functools")
        # Imported with the module (the import is the slow part of a first use), but the pool
        # itself is created on first use.
        self.add_needed_import("concurrent.futures", "ProcessPoolExecutor")
        helper = cst.parse_statement(
            "@functools.lru_cache(maxsize=None)\n"
            f"def {HELPER}():\n"
            '    """The process pool for this module\'s CPU-bound calls (added by asyncfix).\n'
            "\n"
            "    Created once, on first use: importing the module starts no process and leaves the\n"
            "    multiprocessing start method alone, so it also imports cleanly in a spawned worker.\n"
            '    """\n'
            "    return ProcessPoolExecutor()\n"
        )
        body = list(updated.body)
        index = 0
        for position, statement in enumerate(body):
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            if m.findall(statement, m.Import() | m.ImportFrom()):
                index = position + 1
        if index == 0 and body and m.matches(
            body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])
        ):
            index = 1
        blank = [cst.EmptyLine(), cst.EmptyLine()]
        helper = helper.with_changes(leading_lines=blank)
        if index < len(body):
            following = body[index]
            kept = list(following.leading_lines)
            while kept and kept[0].comment is None:
                kept.pop(0)
            body[index] = following.with_changes(leading_lines=[*blank, *kept])
        body.insert(index, helper)
        return updated.with_changes(body=body)


def _to_thread(args: List[cst.Arg]) -> cst.Await:
    """``await asyncio.to_thread(*args)``: the thread-pool offload (it carries the caller's
    context variables; ``run_in_executor`` does not)."""
    return awaited(cst.Call(cst.Attribute(cst.Name("asyncio"), cst.Name("to_thread")), args))
