"""The typed facts of the program model, and the call contexts they use.

The engine's first pass collects one :class:`ModuleFacts` per file (callgraph.py); the index
built from them (propagate.py) is a :class:`ProjectIndex`, which every codemod reads. Everything
here is plain, picklable data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

# (start line, start column, end line, end column) of a call's callee, columns in characters
# (libcst's unit), so that a libcst node and an ast node of the same code compare equal.
Span = Tuple[int, int, int, int]
# A definition: (path, qualified name inside the module, e.g. "Service.fetch").
DefKey = Tuple[str, str]

# Calls whose arguments are awaitables the callee takes care of: a coroutine handed to them is
# not missing an await. Matched on the last name of the callee (`asyncio.gather`, `tg.create_task`,
# `loop.run_until_complete`, `anyio.run`, `nursery.start_soon`, ...).
TAKES_AWAITABLES = frozenset(
    {
        "create_task",
        "ensure_future",
        "gather",
        "wait",
        "wait_for",
        "shield",
        "run",
        "run_until_complete",
        "run_coroutine_threadsafe",
        "as_completed",
        "start_soon",
        "start",
        "timeout",
        "iscoroutine",
        "isawaitable",
        # SQLAlchemy's greenlet bridge (sqlalchemy.util): `await_(coro)` runs the coroutine from
        # sync code; `await_only` / `await_fallback` are its 1.4/2.0 names.
        "await_",
        "await_only",
        "await_fallback",
    }
)

# Calls that keep what they are given for later (collections, queues, schedulers, callbacks):
# a coroutine handed to one is not used as a value here (AWAIT003 names it, nothing is awaited).
HANDS_OFF = frozenset(
    {
        "append",
        "appendleft",
        "add",
        "extend",
        "insert",
        "put",
        "put_nowait",
        "setdefault",
        "update",
        "submit",
        "call_soon",
        "call_soon_threadsafe",
        "call_later",
        "call_at",
        "add_done_callback",
        "register",
        "partial",
    }
)

# Places where FastAPI/Starlette take a function and await it if it is a coroutine function:
# a function referenced there may become async.
ASYNC_AWARE_SLOTS = frozenset(
    {
        "Depends",
        "Security",
        "add_task",
        "add_api_route",
        "add_route",
        "add_api_websocket_route",
        "add_event_handler",
        "add_exception_handler",
        "exception_handler",
        "middleware",
        "on_event",
        "api_route",
    }
)

AWAITED = "awaited"  # `await f()`
INTO_AWAITED = "into-awaited"  # `await wrapper(f())`: the wrapper may take the coroutine itself
HANDED = "handed"  # an argument of create_task/gather/...
RETURNED = "returned"  # `return f()`
STORED = "stored"  # `name = f()`
PLAIN = "plain"  # anything else: the value is used (or dropped) as if it were the result
GENEXP = "genexp"  # inside a generator expression: await would make it an async generator
NESTED = "nested"  # a comprehension inside a comprehension: await is an error before 3.11


@dataclass(frozen=True)
class DefFacts:
    qualname: str
    name: str
    line: int  # the line of `def` / `async def` (decorators excluded)
    is_async: bool
    owner_class: str  # "" for a function; the class's qualname for a method
    decorators: Tuple[str, ...]
    is_generator: bool
    awaits: bool = False  # its own body has `await`, `async for` or `async with`


@dataclass(frozen=True)
class CallSite:
    owner: (
        str  # qualname of the function evaluating the call; "" module level; "<class>" class body
    )
    line: int  # the line the call starts on (for opt-out comments and messages)
    target: str  # the callee as dotted text: "helper", "services.build", "self.m"
    instance_of: str  # for `obj.m()`: the dotted constructor/annotation `obj` comes from
    span: Span
    context: str
    stored_as: str = ""
    main_guard: bool = False  # module level, inside `if __name__ == "__main__":`
    statement: bool = False  # the call is a whole expression statement or an assignment value
    with_item: bool = False  # the context expression of a `with` item: `with cm():`
    end_line: int = 0  # the line the call ends on


@dataclass(frozen=True)
class Reference:
    target: str  # dotted text of a function referenced without being called
    instance_of: str
    owner: str
    line: int
    column: int
    async_aware: bool  # in Depends(...), add_task(...), ...


@dataclass(frozen=True)
class Import:
    """One name an import statement binds, as written: ``import a.b as c`` is
    ``Import(0, "a.b", "", "c", ...)``, ``from ..m import x`` is ``Import(2, "m", "x", "", ...)``.
    The one reading of a module's imports: every consumer derives what it needs from these."""

    level: int  # leading dots of a relative import
    module: str  # `import a.b`: "a.b"; `from m import x`: "m" ("" for `from . import x`)
    name: str  # `from m import x`: "x" ("*" for a star import); "" for `import m`
    asname: str  # "" when not renamed
    line: int
    column: int  # 0-based, as ast gives it
    owner: str = ""  # where it stands: CallSite.owner's convention ("" module level)

    @property
    def local(self) -> str:
        """The name bound: the alias, the imported name, or the root of ``import a.b``."""
        return self.asname or self.name or self.module.split(".")[0]

    @property
    def path(self) -> str:
        """What the bound name refers to, dotted (relative ones keep their dots): ``a`` for
        ``import a.b``, ``a.b`` for ``import a.b as c``, ``.m.x`` for ``from .m import x``."""
        if not self.name:
            return self.module if self.asname else self.module.split(".")[0]
        base = "." * self.level + self.module
        return f"{base}.{self.name}" if self.module else base + self.name


def import_paths(imported: Iterable[Import]) -> Dict[str, Set[str]]:
    """Local name -> every dotted path an import anywhere in the file binds it to."""
    paths: Dict[str, Set[str]] = {}
    for entry in imported:
        if entry.name != "*":
            paths.setdefault(entry.local, set()).add(entry.path)
    return paths


def absolute_imports(imported: Iterable[Import]) -> Dict[str, str]:
    """Local name -> the dotted path its last absolute import binds it to (``import a.b as c``:
    ``c`` -> ``a.b``; ``from m import *`` binds ``*``); relative imports are left out."""
    return {entry.local: entry.path for entry in imported if not entry.level}


@dataclass
class ModuleFacts:
    path: str
    defs: Dict[str, DefFacts] = field(default_factory=dict)
    classes: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # qualname -> bases
    # local name -> (level, module or "", attribute or ""): `import a.b as c` -> c: (0, "a.b", "")
    imports: Dict[str, Tuple[int, str, str]] = field(default_factory=dict)
    # every import of the file, wherever it stands, in source order (``imports`` keeps the
    # last binding of each name; this keeps them all, with their positions)
    imported: Tuple[Import, ...] = ()
    calls: List[CallSite] = field(default_factory=list)
    references: List[Reference] = field(default_factory=list)
    handled: Dict[str, Set[str]] = field(default_factory=dict)  # owner -> names awaited/handed
    # line -> the codemods its `# asyncfix: ignore[...]` names (None: every codemod)
    opt_outs: Dict[int, Optional[FrozenSet[str]]] = field(default_factory=dict)
    opted_out: FrozenSet[int] = frozenset()  # lines with any `# asyncfix: ignore[...]`
    # owner -> names handed off to a collection, queue or scheduler (`coros.append(c)`): a
    # coroutine kept there is somebody else's to await. A name passed to any other call is
    # used as a value (`x = coro(); f(x)`): that coroutine is awaited where it is made.
    passed: Dict[str, Set[str]] = field(default_factory=dict)
    # What the bodies of this file's coroutines use: identifiers (names, attribute names;
    # Codemod.ASYNC_NAMES), qualified names and their leading parts (``qualified()``;
    # Codemod.ASYNC_TARGETS), parts of call targets rooted in an import or a def here
    # (``called()``): the cheap test of whether a codemod that rewrites only async code can
    # find anything here.
    async_names: FrozenSet[str] = frozenset()
    # "Class.attr" -> the dotted type of `self.attr` as `__init__` assigns it (`self.repo =
    # Repo(db)`, or a parameter annotated with a class)
    attributes: Dict[str, str] = field(default_factory=dict)
    # module-level `Alias = Annotated[T, Depends(...)]` (and plain `Alias = T` of a dotted T)
    type_aliases: Dict[str, str] = field(default_factory=dict)
    blocking_marks: FrozenSet[int] = frozenset()  # lines with `# asyncfix: blocking`
    # What tests here replace (blocking.py: converting an API they mock would break them): the
    # targets of `patch("a.b.requests.get")` / `monkeypatch.setattr(requests, ...)` and the
    # HTTP mocking libraries imported (`responses`, `requests_mock`, `respx`, `pytest_httpx`).
    mocked: FrozenSet[str] = frozenset()

    def silenced(self, line: int, codemod: str) -> bool:
        """Whether an opt-out comment on ``line`` covers ``codemod``."""
        if line not in self.opt_outs:
            return False
        names = self.opt_outs[line]
        return names is None or codemod in names


@dataclass(frozen=True)
class Finding:
    line: int
    column: int  # 1-based
    code: str
    message: str
    hint: str


@dataclass(frozen=True)
class FileActions:
    await_spans: FrozenSet[Span] = frozenset()
    run_spans: FrozenSet[Span] = frozenset()  # module-level calls to wrap in asyncio.run()
    make_async: FrozenSet[Tuple[int, str]] = frozenset()  # (def line, name)
    findings: Tuple[Finding, ...] = ()
    # Other files whose actions this file's go with (a def made async here awaited there, or
    # the reverse): written all together or not at all (engine: write groups).
    linked: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class ProjectIndex:
    root: str = "."
    # codemod NAME -> whatever that codemod's combine() made of its per-file facts
    facts: Mapping[str, Any] = field(default_factory=dict)
    # path -> what the await machinery does in that file
    actions: Mapping[str, FileActions] = field(default_factory=dict)
    # path -> identifiers in that file's coroutines (ModuleFacts.async_names); None when the
    # first pass did not collect them (then codemods fall back to their byte check)
    async_names: Optional[Mapping[str, FrozenSet[str]]] = None
    # the run's [tool.asyncfix] codemod keys (FileContext.options), for wants() to read
    options: Mapping[str, Any] = field(default_factory=dict)
    # blocking entry points and their fixes (blocking.py), when a codemod that applies them runs
    blocking: Optional[Any] = None

    def get(self, codemod: str, default: Any = None) -> Any:
        return self.facts.get(codemod, default)

    def coroutine_names(self, path: str) -> Optional[FrozenSet[str]]:
        """What file ``path``'s coroutines use (ModuleFacts.async_names), or None when that
        is not all its async code: no first pass ran, or a def of it becomes async."""
        if self.async_names is None or self.new_coroutines(path):
            return None
        return self.async_names.get(path, frozenset())

    def new_coroutines(self, path: str) -> bool:
        """Whether a def of file ``path`` becomes ``async def`` in this run (its code is then
        async code that the first pass did not see as such)."""
        actions = self.actions.get(path)
        return actions is not None and bool(actions.make_async)

    def becomes_async(self, path: str, line: int, name: str) -> bool:
        actions = self.actions.get(path)
        return actions is not None and (line, name) in actions.make_async


@dataclass
class Program:
    """The whole program while the index is built (propagate.combine_all): every file's facts,
    one resolver, and what the codemods' ``analyse()`` steps decided so far, in registry order
    (Codemod.analyse)."""

    root: str
    options: Mapping[str, Any]
    selected: FrozenSet[str]  # the NAMEs of the codemods of the run
    modules: Mapping[str, ModuleFacts]
    resolver: Any  # names.Resolver: its memoised answers serve every analysis alike
    facts: Dict[str, Any]  # codemod NAME -> its combined facts (ProjectIndex.facts)
    seeds: List[DefKey]  # functions codemods make await (Codemod.async_seeds)
    # path -> functions made async, calls awaited, diagnostics (ProjectIndex.actions)
    actions: Dict[str, FileActions] = field(default_factory=dict)
    blocking: Optional[Any] = None  # ProjectIndex.blocking
    # functions kept sync for their framework while their body becomes async (Codemod.async_entries)
    entries: FrozenSet[DefKey] = frozenset()
    # seeds the await analysis could not make async -> why (propagate.build's ``refused``)
    refused: Dict[DefKey, str] = field(default_factory=dict)
    # codemod NAME -> the per-file facts its combine() decided on (a decision an analyse revisits)
    inputs: Dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def made_async(self) -> Set[DefKey]:
        """The functions :attr:`actions` make ``async def``."""
        made: Set[DefKey] = set()
        for path, action in self.actions.items():
            wanted = action.make_async
            if wanted:
                made.update(
                    (path, q)
                    for q, d in self.modules[path].defs.items()
                    if (d.line, d.name) in wanted
                )
        return made


def qualified(name: str) -> str:
    """How a qualified name (``time.sleep``) or one of its leading parts (``time``) appears in
    ``ModuleFacts.async_names``, next to the plain identifiers."""
    return "=" + name


def called(name: str) -> str:
    """How a part of a call's target in a coroutine appears in ``ModuleFacts.async_names``
    (``()hash`` for ``ctx.hash(...)`` where ``ctx`` is imported or defined in the file)."""
    return "()" + name
