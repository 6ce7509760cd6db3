"""The project-wide facts gathered before any file is rewritten.

The engine's first pass ``ast``-parses every file once (in worker processes). From each tree it
takes two kinds of facts:

- the call graph (:func:`collect_module`): which functions are defined (sync or async, where,
  with which decorators and base classes), how the module imports others, every call site with
  the context it sits in (awaited, handed to ``create_task``/``gather``, returned, stored in a
  name, plain), and every function referenced without being called;
- whatever each selected codemod's ``collect()`` returns, combined by its ``combine()`` into
  :attr:`ProjectIndex.facts` under the codemod's name.

:func:`build` resolves call sites to definitions across modules (absolute and relative imports,
aliases, ``self.m()``, ``obj.m()`` on a local instance of a project class, module attributes)
and runs the propagation to a fixed point: a sync function that calls a coroutine function
without awaiting it (or that a codemod makes await) becomes ``async def`` and its own call sites
are awaited, up to the boundaries that cannot become async (dunders, properties, callbacks
handed to sync APIs, overrides of non-project base classes, lambdas), which get a diagnostic.
The result is one :class:`FileActions` per file: positions to await, ``def`` lines to make
async, module-level calls to wrap in ``asyncio.run``, and diagnostics. The per-file transforms
only apply them. Everything here is plain, picklable data, built in sorted path order, so the
same tree gives the same index whatever the scheduling.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import tokenize
from collections import deque
from dataclasses import dataclass, field
from io import BytesIO
from typing import (
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from .blocking_tables import BLOCKING_MARKER  # `# asyncfix: blocking` (blocking.py)
from .resolve import absolute, module_names, package_of

# `# asyncfix: ignore` (every codemod) or `# asyncfix: ignore[name, other_name]` (those only).
IGNORE_COMMENT = re.compile(r"#\s*asyncfix:\s*ignore(?:\[([^\]]*)\])?")
AWAIT_CODEMOD = "await_coroutines"  # the codemod that applies the actions computed here

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

# Library coroutine functions: calling one without `await` in async code is the same mistake.
LIBRARY_COROUTINES = frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait_for",
        "asyncio.wait",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.to_thread",
    }
)
# Coroutine methods of library classes, on a name known to hold an instance (assigned from the
# constructor, bound by `async with Class(...) as name`, or a parameter annotated with the class).
_HTTPX_ASYNC = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "aclose"}
)
ASYNC_SESSION_METHODS = frozenset(
    {
        "execute",
        "scalars",
        "scalar",
        "get",
        "get_one",
        "stream",
        "stream_scalars",
        "refresh",
        "delete",
        "merge",
        "flush",
        "commit",
        "rollback",
        "close",
        "reset",
        "invalidate",
        "connection",
        "run_sync",
    }
)
LIBRARY_COROUTINE_METHODS: Mapping[str, FrozenSet[str]] = {
    "httpx.AsyncClient": _HTTPX_ASYNC,
    "sqlalchemy.ext.asyncio.AsyncSession": ASYNC_SESSION_METHODS,
    "sqlalchemy.ext.asyncio.session.AsyncSession": ASYNC_SESSION_METHODS,
    "sqlmodel.ext.asyncio.session.AsyncSession": ASYNC_SESSION_METHODS | {"exec"},
}

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

# Base classes that do not make a method an override of a library's sync method.
NEUTRAL_BASES = frozenset(
    {"object", "typing.Generic", "typing.Protocol", "abc.ABC", "Generic", "Protocol", "ABC"}
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


@dataclass
class ModuleFacts:
    path: str
    defs: Dict[str, DefFacts] = field(default_factory=dict)
    classes: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # qualname -> bases
    # local name -> (level, module or "", attribute or ""): `import a.b as c` -> c: (0, "a.b", "")
    imports: Dict[str, Tuple[int, str, str]] = field(default_factory=dict)
    calls: List[CallSite] = field(default_factory=list)
    references: List[Reference] = field(default_factory=list)
    handled: Dict[str, Set[str]] = field(default_factory=dict)  # owner -> names awaited/handed
    ignored: FrozenSet[int] = frozenset()  # lines opted out of the await machinery
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


# -- collecting ---------------------------------------------------------------------------------

# The first pass walks every file's tree in Python, so the walk is the cost after ast.parse.
# These versions of ast's own helpers skip the nodes no collector looks at as nodes
# (expression contexts and operators, read through their parent's ``ctx``/``op``/``ops``),
# about a third of all nodes, and look up each node class's fields once.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _child_fields(cls: type) -> Tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


def iter_child_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.iter_child_nodes`` without context and operator nodes."""
    for name in _CHILD_FIELDS.get(node.__class__) or _child_fields(node.__class__):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item
        elif isinstance(value, ast.AST):
            yield value


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` (same order: breadth first) without context and operator nodes."""
    queue = deque([node])
    while queue:
        node = queue.popleft()
        queue.extend(iter_child_nodes(node))
        yield node


class FastVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor`` with the ``visit_<Class>`` lookup done once per node class, and
    without context and operator nodes."""

    _methods: ClassVar[Dict[type, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: ast.AST) -> Any:
        cls = node.__class__
        methods = self.__class__._methods
        method = methods.get(cls)
        if method is None:
            method = getattr(self.__class__, "visit_" + cls.__name__, None)
            if method is None or method is ast.NodeVisitor.visit_Constant:
                method = self.__class__.generic_visit
            methods[cls] = method
        return method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for child in iter_child_nodes(node):
            self.visit(child)


def dotted_name(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for an ast Name/Attribute chain; None for anything else (``f().x``)."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _dotted(node: ast.AST) -> str:
    return dotted_name(node) or ""


class _Columns:
    """ast columns are UTF-8 byte offsets; libcst's are characters."""

    def __init__(self, source: bytes) -> None:
        self._lines: Optional[List[str]] = None
        self._source = source
        self._ascii = source.isascii()  # then bytes are characters: the common, fast case

    def char(self, line: int, column: int) -> int:
        if self._ascii:
            return column
        if self._lines is None:
            try:
                encoding, _ = tokenize.detect_encoding(BytesIO(self._source).readline)
                text = self._source.decode(encoding)
            except (SyntaxError, UnicodeDecodeError, LookupError):
                text = self._source.decode("utf-8", "replace")
            self._lines = text.splitlines()
        if line - 1 >= len(self._lines):
            return column
        raw = self._lines[line - 1].encode("utf-8")
        return len(raw[:column].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> Span:
        return (
            node.lineno,
            self.char(node.lineno, node.col_offset),
            node.end_lineno or node.lineno,
            self.char(node.end_lineno or node.lineno, node.end_col_offset or 0),
        )


@dataclass
class _Frame:
    kind: str  # module | class | def | lambda
    qualname: str
    is_async: bool = False
    instances: Dict[str, str] = field(default_factory=dict)
    locals: FrozenSet[str] = frozenset()  # names the function binds itself (they shadow)


class _Collector(FastVisitor):
    def __init__(self, path: str, source: bytes) -> None:
        self.facts = ModuleFacts(path)
        self.columns = _Columns(source)
        self.frames: List[_Frame] = [_Frame("module", "")]
        self.context: Dict[int, Tuple[str, str]] = {}  # id(call) -> (context, stored name)
        self.statement_calls: Set[int] = set()
        self.comprehension_depth = 0
        self.in_genexp = 0
        self.main_guard = 0
        self.slot_args: Set[int] = set()  # ids of Name/Attribute nodes in async-aware slots
        self.with_items: Set[int] = set()  # ids of calls that are `with` items
        self.mocked: Set[str] = set()  # ModuleFacts.mocked
        self.async_names: Set[str] = set()
        self.async_chains: Set[str] = set()  # dotted names as written in coroutines
        # local name -> every module path an import anywhere in the file binds it to
        self.import_paths: Dict[str, Set[str]] = {}
        self.module_bindings: Dict[str, str] = {}  # module-level name -> constructor it calls

    # -- helpers

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def owner(self) -> str:
        frame = self.frame
        if frame.kind == "def":
            return frame.qualname
        if frame.kind == "module":
            return ""
        return f"<{frame.kind}>"

    def mark(self, node: Optional[ast.AST], context: str, name: str = "") -> None:
        """Give ``node`` (a call, or a container whose elements are calls) a context."""
        if node is None:
            return
        if isinstance(node, ast.Call):
            self.context.setdefault(id(node), (context, name))
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for element in node.elts:
                self.mark(element, context, name)
        elif isinstance(node, ast.Starred):
            self.mark(node.value, context, name)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            self.mark(node.elt, context, name)
        elif isinstance(node, ast.DictComp):
            self.mark(node.value, context, name)

    def handled_name(self, node: ast.AST) -> None:
        if isinstance(node, ast.Starred):
            node = node.value
        if isinstance(node, ast.Name):
            self.facts.handled.setdefault(self.owner(), set()).add(node.id)

    # -- scopes

    def _def(self, node: ast.AST, is_async: bool) -> None:
        parent = self.frame
        if parent.kind == "module":
            qualname = node.name
        elif parent.kind == "class":
            qualname = f"{parent.qualname}.{node.name}"
        else:
            qualname = f"{parent.qualname}.<locals>.{node.name}"
        is_generator = awaits = False
        for child in _own_nodes(node):
            if isinstance(child, (ast.Yield, ast.YieldFrom)):
                is_generator = True
            elif isinstance(child, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
                awaits = True
        self.facts.defs[qualname] = DefFacts(
            qualname=qualname,
            name=node.name,
            line=node.lineno,
            is_async=is_async,
            owner_class=parent.qualname if parent.kind == "class" else "",
            decorators=tuple(
                _dotted(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
            ),
            is_generator=is_generator,
            awaits=awaits,
        )
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)
        frame = _Frame("def", qualname, is_async, locals=_bound_names(node))
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None:
                annotation = _annotation_type(arg.annotation)
                if annotation:
                    frame.instances[arg.arg] = annotation
        self.frames.append(frame)
        saved = (self.comprehension_depth, self.in_genexp, self.main_guard)
        self.comprehension_depth = self.in_genexp = self.main_guard = 0
        for statement in node.body:
            self.visit(statement)
        self.comprehension_depth, self.in_genexp, self.main_guard = saved
        self.frames.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._def(node, False)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._def(node, True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        parent = self.frame
        qualname = node.name if parent.kind == "module" else f"{parent.qualname}.{node.name}"
        if parent.kind == "def":
            qualname = f"{parent.qualname}.<locals>.{node.name}"
        self.facts.classes[qualname] = tuple(_dotted(base) for base in node.bases)
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self.frames.append(_Frame("class", qualname))
        for statement in node.body:
            self.visit(statement)
        self.frames.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self.frames.append(_Frame("lambda", f"{self.frame.qualname}.<lambda>"))
        self.visit(node.body)
        self.frames.pop()

    def _comprehension(self, node: ast.AST, elements: Sequence[ast.AST], genexp: bool) -> None:
        generators = node.generators
        # The first iterable is evaluated by the enclosing scope.
        self.visit(generators[0].iter)
        self.comprehension_depth += 1
        self.in_genexp += genexp
        for index, generator in enumerate(generators):
            self.visit(generator.target)
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for element in elements:
            self.visit(element)
        self.in_genexp -= genexp
        self.comprehension_depth -= 1

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt], False)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, [node.elt], False)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value], False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt], True)

    # -- statements that give calls their context

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guard = (
            self.frame.kind == "module"
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        )
        self.visit(node.test)
        self.main_guard += guard
        for statement in node.body:
            self.visit(statement)
        self.main_guard -= guard
        for statement in node.orelse:
            self.visit(statement)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self.statement_calls.add(id(node.value))
            call = node.value
            if (
                _dotted(call.func) == "sys.exit"
                and len(call.args) == 1
                and not call.keywords
                and isinstance(call.args[0], ast.Call)
            ):  # `sys.exit(main())`: the exit status of a whole-statement call
                self.statement_calls.add(id(call.args[0]))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call):
            self.statement_calls.add(id(value))
        if (
            self.frame.kind == "module"
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            if isinstance(value, ast.Subscript):  # SessionDep = Annotated[Session, Depends(get_db)]
                aliased = _annotation_type(value)
                if aliased:
                    self.facts.type_aliases[node.targets[0].id] = aliased
        self._self_attribute(node.targets[0] if len(node.targets) == 1 else None, value)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            self.mark(value, STORED, name)
            if isinstance(value, ast.Call):
                constructor = _dotted(value.func)
                if constructor:
                    self.frame.instances[name] = constructor
                    if self.frame.kind == "module":  # `session = requests.Session()`
                        self.module_bindings[name] = constructor
        target = node.targets[0]
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "dependency_overrides"
        ):
            self.slot_args.add(id(value))
        self.generic_visit(node)

    def _self_attribute(self, target: Optional[ast.AST], value: Optional[ast.AST]) -> None:
        """`self.x = Repo(...)` / `self.x = param` (annotated) in `__init__`: the type of x."""
        frame = self.frame
        if not (
            frame.kind == "def"
            and frame.qualname.endswith(".__init__")
            and isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            return
        kind = ""
        if isinstance(value, ast.Call):
            kind = _dotted(value.func)
        elif isinstance(value, ast.Name):
            kind = frame.instances.get(value.id, "")
        if kind:
            owner = frame.qualname[: -len(".__init__")]
            self.facts.attributes[f"{owner}.{target.attr}"] = kind

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Attribute) and node.value is not None:
            self._self_attribute(node.target, node.value)
        if isinstance(node.target, ast.Name) and node.value is not None:
            self.mark(node.value, STORED, node.target.id)
            annotation = _dotted(node.annotation)
            if annotation:
                self.frame.instances[node.target.id] = annotation
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        self.mark(node.value, RETURNED)
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        self.mark(node.value, AWAITED)
        self.handled_name(node.value)
        if isinstance(node.value, ast.Call):  # `await _run_to_completion(self.close())`
            callee = node.value.func
            last = callee.attr if isinstance(callee, ast.Attribute) else _dotted(callee)
            if last not in TAKES_AWAITABLES:  # those hand their arguments on (visit_Call)
                for argument in [*node.value.args, *(k.value for k in node.value.keywords)]:
                    self.mark(argument, INTO_AWAITED)
        self.generic_visit(node)

    def _with(self, node: ast.AST) -> None:
        for item in node.items:
            self.with_items.add(id(item.context_expr))
            if isinstance(item.optional_vars, ast.Name) and isinstance(item.context_expr, ast.Call):
                constructor = _dotted(item.context_expr.func)
                if constructor:
                    self.frame.instances[item.optional_vars.id] = constructor
        self.generic_visit(node)

    visit_With = visit_AsyncWith = _with

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in _MOCKING_LIBRARIES:
                self.mocked.add(alias.name)
            if alias.asname:
                self.facts.imports[alias.asname] = (0, alias.name, "")
                self.import_paths.setdefault(alias.asname, set()).add(alias.name)
            else:
                root = alias.name.split(".")[0]
                self.facts.imports[root] = (0, root, "")
                self.import_paths.setdefault(root, set()).add(root)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.level and (node.module or "").split(".")[0] in _MOCKING_LIBRARIES:
            self.mocked.add(node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self.facts.imports[alias.asname or alias.name] = (
                    node.level,
                    node.module or "",
                    alias.name,
                )
                module = "." * node.level + (node.module or "")
                self.import_paths.setdefault(alias.asname or alias.name, set()).add(
                    f"{module}.{alias.name}" if node.module else module + alias.name
                )

    # -- calls and references

    def _in_coroutine(self) -> bool:
        frame = self.frames[-1]
        return frame.kind == "def" and frame.is_async

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if self._in_coroutine():
            if name:
                self.async_names.update(name.split("."))
                self.async_chains.add(name)
            elif isinstance(node.func, ast.Attribute):  # Path(p).read_text()
                self.async_names.add(node.func.attr)
        last = name.rpartition(".")[2] if name else ""
        if not last and isinstance(node.func, ast.Attribute):
            last = node.func.attr
        if last in TAKES_AWAITABLES:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self.mark(argument, HANDED)
                self.handled_name(argument)
        for argument in (
            [*node.args, *(k.value for k in node.keywords)] if last in HANDS_OFF else ()
        ):
            if isinstance(argument, ast.Starred):
                argument = argument.value
            if isinstance(argument, ast.Name):  # `coros.append(c)`: c may be awaited elsewhere
                self.facts.passed.setdefault(self.owner(), set()).add(argument.id)
        if last in ASYNC_AWARE_SLOTS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self.slot_args.add(id(argument))
        if last in _MOCKERS and node.args:
            target = node.args[0]
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                self.mocked.add(target.value)
            elif _dotted(target):
                self.mocked.add(_dotted(target))
        self._record_call(node)
        # The callee expression itself is not a reference to a function value.
        if isinstance(node.func, ast.Attribute):
            if not _dotted(node.func):
                self.visit(node.func.value)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        for argument in node.args:
            self.visit(argument)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def _record_call(self, node: ast.Call) -> None:
        func = node.func
        target = _dotted(func)
        instance_of = ""
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if isinstance(receiver, ast.Call):  # Service().method()
                instance_of = _dotted(receiver.func)
                target = f"().{func.attr}"
            elif isinstance(receiver, ast.Name) and receiver.id in self.frame.instances:
                instance_of = self.frame.instances[receiver.id]
            elif (
                isinstance(receiver, ast.Attribute)
                and isinstance(receiver.value, ast.Name)
                and receiver.value.id == "self"
            ):  # self.repo.get(): the type __init__ gave self.repo (resolved in build)
                instance_of = f"self.{receiver.attr}"
                target = f"().{func.attr}"
        if not target:
            return
        context, stored = self.context.get(id(node), (PLAIN, ""))
        if context in (PLAIN, STORED) and self.in_genexp:
            context = GENEXP
        elif context in (PLAIN, STORED) and self.comprehension_depth > 1:
            context = NESTED
        root = target.split(".")[0]
        if root in self.frame.locals and root not in ("self", "cls") and not instance_of:
            return  # a local variable, not the module-level function of that name
        self.facts.calls.append(
            CallSite(
                owner=self.owner(),
                line=node.lineno,
                target=target,
                instance_of=instance_of,
                span=self.columns.span(func),
                context=context,
                stored_as=stored,
                main_guard=bool(self.main_guard),
                statement=id(node) in self.statement_calls,
                with_item=id(node) in self.with_items,
                end_line=node.end_lineno or node.lineno,
            )
        )

    def _reference(self, node: ast.AST) -> None:
        target = _dotted(node)
        if not target:
            return
        instance_of = ""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            instance_of = self.frame.instances.get(node.value.id, "")
        self.facts.references.append(
            Reference(
                target=target,
                instance_of=instance_of,
                owner=self.owner(),
                line=node.lineno,
                column=self.columns.char(node.lineno, node.col_offset) + 1,
                async_aware=id(node) in self.slot_args,
            )
        )

    def visit_Name(self, node: ast.Name) -> None:
        if self._in_coroutine():
            self.async_names.add(node.id)
            self.async_chains.add(node.id)
        if isinstance(node.ctx, ast.Load):
            self._reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self._in_coroutine():
            dotted = _dotted(node)
            self.async_names.update(dotted.split(".") if dotted else (node.attr,))
            if dotted:
                self.async_chains.add(dotted)
        if isinstance(node.ctx, ast.Load) and _dotted(node):
            self._reference(node)  # the whole chain is one reference
        else:
            self.visit(node.value)


# Calls that replace a name for a test, and libraries that replace HTTP clients (ModuleFacts.mocked).
_MOCKERS = frozenset({"patch", "setattr", "object"})
_MOCKING_LIBRARIES = frozenset({"responses", "requests_mock", "respx", "pytest_httpx"})

_ANNOTATED = frozenset({"Annotated", "typing.Annotated", "typing_extensions.Annotated"})
_OPTIONAL = frozenset({"Optional", "typing.Optional"})


def _annotation_type(node: ast.AST) -> str:
    """The dotted class an annotation names: ``Svc``, ``Annotated[Svc, Depends()]`` and
    ``Optional[Svc]`` are all ``Svc``; anything else is "" (unknown)."""
    if isinstance(node, ast.Subscript) and _dotted(node.value) in (_ANNOTATED | _OPTIONAL):
        inner = node.slice
        if isinstance(inner, ast.Tuple) and inner.elts:
            inner = inner.elts[0]
        return _annotation_type(inner)
    return _dotted(node)


def _bound_names(function: ast.AST) -> FrozenSet[str]:
    """Names a function binds in its own scope (parameters, assignments, loop and with
    targets), minus those it declares global or nonlocal, and minus nested defs and imports
    (those are resolved, not shadowing)."""
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    declared: Set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
    return frozenset(names - declared)


def _own_nodes(function: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's own body (not of nested defs, lambdas or classes)."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        for child in iter_child_nodes(node):
            if not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            ):
                stack.append(child)


def qualified(name: str) -> str:
    """How a qualified name (``time.sleep``) or one of its leading parts (``time``) appears in
    ``ModuleFacts.async_names``, next to the plain identifiers."""
    return "=" + name


_BUILTINS = frozenset(dir(builtins))


def called(name: str) -> str:
    """How a part of a call's target in a coroutine appears in ``ModuleFacts.async_names``
    (``()hash`` for ``ctx.hash(...)`` where ``ctx`` is imported or defined in the file)."""
    return "()" + name


def _qualified_prefixes(collector: "_Collector") -> Set[str]:
    """Every dotted name used in a coroutine, its head resolved through the file's imports
    (all of them, wherever they stand: a superset is safe), and through module-level
    ``name = constructor()`` bindings, as ``=a``, ``=a.b``, ``=a.b.c``: so a codemod can ask
    for ``time.sleep`` or for anything under ``requests`` (Codemod.ASYNC_TARGETS)."""
    out: Set[str] = set()
    for chain in collector.async_chains:
        head, _, rest = chain.partition(".")
        # A name no import binds is a builtin (`open`), or a local that no qualified name
        # can match (a parameter called `requests`).
        fulls = [chain] if head in _BUILTINS else []
        for base in collector.import_paths.get(head, ()):
            fulls.append(f"{base}.{rest}" if rest else base)
        if head in collector.module_bindings:
            binding = collector.module_bindings[head]
            bhead, _, brest = binding.partition(".")
            fulls.append(binding)
            for base in collector.import_paths.get(bhead, ()):
                fulls.append(f"{base}.{brest}" if brest else base)
        for full in fulls:
            parts = full.split(".")
            for end in range(1, len(parts) + 1):
                out.add("=" + ".".join(parts[:end]))
    return out


def collect_module(tree: ast.Module, path: str, source: bytes) -> ModuleFacts:
    """The call-graph facts of one file, trimmed to what can matter across the project: calls
    and references whose root name is imported, defined here, ``self``/``cls``, or a local
    instance of a known class (``print(...)`` or a local variable's method never can)."""
    collector = _Collector(path, source)
    collector.visit(tree)
    facts = collector.facts
    roots = set(facts.imports) | {"self", "cls", "open", "input"}  # builtins that block
    roots |= {qualname.rpartition(".")[2] for qualname in facts.defs}
    roots |= {qualname.rpartition(".")[2] for qualname in facts.classes}
    facts.calls = [c for c in facts.calls if c.instance_of or c.target.split(".")[0] in roots]
    facts.references = [
        r for r in facts.references if r.instance_of or r.target.split(".")[0] in roots
    ]
    facts.ignored, facts.opted_out = _ignored_lines(source)
    facts.mocked = frozenset(collector.mocked)
    if b"asyncfix: blocking" in source:
        facts.blocking_marks = frozenset(
            number
            for number, line in enumerate(source.splitlines(), start=1)
            if BLOCKING_MARKER.search(line.decode("utf-8", "replace"))
        )
    names = set(collector.async_names)
    names.update(_qualified_prefixes(collector))
    for call in facts.calls:  # kept calls: the root is imported or defined in this file
        owner = facts.defs.get(call.owner)
        if owner is not None and owner.is_async:
            names.update(called(part) for part in call.target.split("."))
    facts.async_names = frozenset(names)
    return facts


def _ignored_lines(source: bytes) -> Tuple[FrozenSet[int], FrozenSet[int]]:
    """Lines whose opt-out comment covers the await machinery (``# asyncfix: ignore`` or
    ``# asyncfix: ignore[await_coroutines]``), and lines with any opt-out comment."""
    if b"asyncfix" not in source:
        return frozenset(), frozenset()
    lines, any_lines = set(), set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = IGNORE_COMMENT.search(line.decode("utf-8", "replace"))
        if match:
            any_lines.add(number)
            if match.group(1) is None or AWAIT_CODEMOD in match.group(1):
                lines.add(number)
    return frozenset(lines), frozenset(any_lines)


# -- resolving and propagating ------------------------------------------------------------------

CODE_BOUNDARY = "AWAIT001"  # a sync function calls a coroutine but cannot become async
CODE_NO_AWAIT_HERE = "AWAIT002"  # a coroutine call where `await` is not possible
CODE_STORED = "AWAIT003"  # a coroutine kept in a name that is not awaited in an obvious way

_ROUTE_DECORATORS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "trace",
        "api_route",
        "websocket",
        "route",
        "middleware",
        "exception_handler",
        "on_event",
        "staticmethod",
        "classmethod",
    }
)


class _Resolver:
    def __init__(self, modules: Mapping[str, ModuleFacts], root: str) -> None:
        self.modules = modules
        self.root = root
        self.by_name: Dict[str, List[str]] = {}
        self.package: Dict[str, str] = {}
        self.nearest: Dict[Tuple[str, str], str] = {}
        self.resolved: Dict[Tuple[str, str, int], Optional[object]] = {}
        for path in sorted(modules):
            for name in module_names(path, root):
                self.by_name.setdefault(name, []).append(path)
            self.package[path] = package_of(path, root) or ""

    def module(self, name: str, importer: str) -> Optional[str]:
        """The file for module ``name``; among several, the one nearest the importer."""
        paths = self.by_name.get(name)
        if not paths:
            return None
        if len(paths) == 1:
            return paths[0]
        here = os.path.dirname(importer)
        key = (name, here)
        if key not in self.nearest:  # asked once per call site: memoised per directory
            self.nearest[key] = max(
                paths,
                key=lambda p: (
                    len(os.path.commonpath([here, os.path.dirname(p)])),
                    -paths.index(p),
                ),
            )
        return self.nearest[key]

    def absolute(self, importer: str, level: int, module: str) -> str:
        return absolute(self.package.get(importer, ""), level, module) or ""

    def dotted(self, full: str, importer: str, depth: int = 0) -> Optional[object]:
        """A DefKey, "lib:<name>" for a library coroutine, ("class", DefKey) for a project
        class, or None."""
        # The answer depends on the importer only through its directory (the nearest module of
        # a duplicated name): memoised on that, since most call sites repeat a few targets.
        key = (full, os.path.dirname(importer), depth)
        if key not in self.resolved:
            self.resolved[key] = self._dotted(full, importer, depth)
        return self.resolved[key]

    def _dotted(self, full: str, importer: str, depth: int) -> Optional[object]:
        segments = full.split(".")
        for cut in range(len(segments), 0, -1):
            path = self.module(".".join(segments[:cut]), importer)
            if path is None:
                continue
            rest = segments[cut:]
            if not rest:
                return None
            return self.inside(path, rest, depth)
        if full in LIBRARY_COROUTINES:
            return f"lib:{full}"
        if full in LIBRARY_COROUTINE_METHODS:
            return f"libclass:{full}"
        return None

    def inside(self, path: str, rest: List[str], depth: int) -> Optional[object]:
        facts = self.modules[path]
        qualname = ".".join(rest)
        if qualname in facts.defs:
            return (path, qualname)
        if qualname in facts.classes:
            return ("class", (path, qualname))
        if len(rest) == 2 and rest[0] in facts.classes:  # Class.method via a base
            return self.method((path, rest[0]), rest[1])
        if rest[0] in facts.imports and depth < 8:  # re-exported: `from .models import User`
            level, module, attribute = facts.imports[rest[0]]
            base = self.absolute(path, level, module)
            full = ".".join(filter(None, [base, attribute, *rest[1:]]))
            return self.dotted(full, path, depth + 1)
        return None

    def name(self, path: str, owner: str, dotted: str) -> Optional[object]:
        """Resolve dotted text as written in module ``path`` inside function ``owner``."""
        facts = self.modules[path]
        segments = dotted.split(".")
        head = segments[0]
        if head in ("self", "cls") and len(segments) == 2 and owner in facts.defs:
            cls = facts.defs[owner].owner_class
            if cls:
                return self.method((path, cls), segments[1])
            return None
        scope = owner
        while scope and len(segments) == 1:  # nested defs: outer.<locals>.name
            candidate = f"{scope}.<locals>.{head}"
            if candidate in facts.defs:
                return (path, candidate)
            scope = scope.rpartition(".<locals>.")[0]
        if head in facts.defs or head in facts.classes:
            return self.inside(path, segments, 0)
        if head in facts.imports:
            level, module, attribute = facts.imports[head]
            base = self.absolute(path, level, module)
            full = ".".join(filter(None, [base, attribute, *segments[1:]]))
            return self.dotted(full, path)
        return None

    def method(self, cls: DefKey, name: str, depth: int = 0) -> Optional[object]:
        path, qualname = cls
        facts = self.modules[path]
        if f"{qualname}.{name}" in facts.defs:
            return (path, f"{qualname}.{name}")
        if depth > 8:
            return None
        for base in facts.classes.get(qualname, ()):
            resolved = self.name(path, "", base) if base else None
            if isinstance(resolved, tuple) and resolved[0] == "class":
                found = self.method(resolved[1], name, depth + 1)
                if found is not None:
                    return found
        return None

    def instance_type(self, path: str, owner: str, instance_of: str) -> Tuple[str, str]:
        """Where and as what text an ``instance_of`` is to be read: ``self.repo`` -> the type
        ``__init__`` gave it; a type alias -> its type, read in the module that defines the alias
        (``from app.deps import SessionDep`` follows the import); else itself, in ``path``."""
        facts = self.modules[path]
        if instance_of.startswith("self.") and owner in facts.defs:
            cls = facts.defs[owner].owner_class
            return path, (facts.attributes.get(f"{cls}.{instance_of[5:]}", "") if cls else "")
        head, _, rest = instance_of.partition(".")
        if not rest:
            alias = self._type_alias(path, head, 0)
            if alias is not None:
                return alias
        return path, instance_of

    def _type_alias(self, path: str, name: str, depth: int) -> Optional[Tuple[str, str]]:
        facts = self.modules[path]
        if name in facts.type_aliases:
            return path, facts.type_aliases[name]
        if depth < 8 and name in facts.imports and name not in facts.defs:
            level, module, attribute = facts.imports[name]
            source = self.module(self.absolute(path, level, module), path) if attribute else None
            if source is not None and source in self.modules:
                return self._type_alias(source, attribute, depth + 1)
        return None

    def qualify(self, path: str, owner: str, target: str, instance_of: str) -> Optional[str]:
        """The fully qualified name of a call's target outside the project (``time.sleep``,
        ``sqlalchemy.orm.Session.execute`` for ``db.execute()`` on ``db: Session``,
        ``builtins.open``), or None: a project definition, or unknown."""
        facts = self.modules[path]
        if instance_of:
            where, kind = self.instance_type(path, owner, instance_of)
            if not kind:
                return None
            cls = self.qualify(where, owner if where == path else "", kind, "")
            return f"{cls}.{target.rpartition('.')[2]}" if cls else None
        if target.startswith("()"):
            return None
        head, _, rest = target.partition(".")
        if head in facts.imports:
            level, module, attribute = facts.imports[head]
            full = ".".join(filter(None, [self.absolute(path, level, module), attribute, rest]))
            if self.dotted(full, path) is not None or self._in_project(full, path):
                return None
            return full
        if head in _BUILTINS and head not in facts.defs and head not in facts.classes:
            return f"builtins.{target}"
        return None

    def _in_project(self, full: str, importer: str) -> bool:
        segments = full.split(".")
        return any(
            self.module(".".join(segments[:cut]), importer) for cut in range(len(segments), 0, -1)
        )

    def call(self, path: str, owner: str, target: str, instance_of: str) -> Optional[object]:
        if instance_of:
            method = target.rpartition(".")[2]
            where, instance_of = self.instance_type(path, owner, instance_of)
            if not instance_of:
                return None
            cls = self.name(where, owner if where == path else "", instance_of)
            if isinstance(cls, tuple) and cls[0] == "class":
                return self.method(cls[1], method)
            if isinstance(cls, str) and cls.startswith("libclass:"):
                if method in LIBRARY_COROUTINE_METHODS[cls[len("libclass:") :]]:
                    return f"lib:{cls[len('libclass:'):]}.{method}"
            return None
        if target.startswith("()."):
            return None
        return self.name(path, owner, target)

    def non_project_bases(self, path: str, cls: str) -> List[str]:
        bases = []
        for base in self.modules[path].classes.get(cls, ()):
            resolved = self.name(path, "", base) if base else None
            if (
                not (isinstance(resolved, tuple) and resolved[0] == "class")
                and base not in NEUTRAL_BASES
            ):
                bases.append(base or "?")
        return bases


def build(
    modules: Mapping[str, ModuleFacts],
    seeds: Iterable[DefKey],
    root: str,
    resolver: Optional["_Resolver"] = None,
    run_in: Optional[Mapping[DefKey, FrozenSet[Span]]] = None,
    async_fixtures: bool = False,
    entries: FrozenSet[DefKey] = frozenset(),
) -> Dict[str, FileActions]:
    """Resolve every call site, propagate async to a fixed point, and say per file what to do.
    ``run_in``: sync functions that stay sync and run the given coroutine calls with
    ``asyncio.run`` instead (the sync tests of a --migrate closure, native.py). ``entries``:
    decorated functions a codemod keeps sync for their framework while their body becomes async
    (a CLI command split into ``asyncio.run(_body())``, sqla_commands.py): their decorators are
    no boundary, and their callers call them synchronously."""
    run_in = run_in or {}
    resolver = resolver or _Resolver(modules, root)
    defs = {(path, q): d for path, facts in modules.items() for q, d in facts.defs.items()}

    # Where each function is referenced without being called, outside async-aware slots.
    callbacks: Dict[DefKey, Tuple[str, int]] = {}
    for path in sorted(modules):
        for ref in modules[path].references:
            if ref.async_aware:
                continue
            key = resolver.call(path, ref.owner, ref.target, ref.instance_of)
            if isinstance(key, tuple) and key[0] != "class" and key not in callbacks:
                callbacks[key] = (os.path.relpath(path, root), ref.line)

    boundary_cache: Dict[DefKey, Optional[str]] = {}

    def boundary(key: DefKey) -> Optional[str]:
        if key not in boundary_cache:
            boundary_cache[key] = _boundary(key)
        return boundary_cache[key]

    def _boundary(key: DefKey) -> Optional[str]:
        definition = defs[key]
        path = key[0]
        if definition.line in modules[path].ignored:
            return "it is marked `# asyncfix: ignore`"
        if definition.name.startswith("__") and definition.name.endswith("__"):
            return f"`{definition.name}` is a dunder method, called by Python itself"
        fixture = False
        for decorator in () if key in entries else definition.decorators:
            last = decorator.rpartition(".")[2]
            if "property" in last or last in ("setter", "getter", "deleter"):
                return f"`{definition.qualname}` is a property"
            if async_fixtures and decorator in ("pytest.fixture", "fixture"):
                fixture = (
                    True  # --migrate: anyio's pytest plugin runs async fixtures (sqla_closure)
                )
                continue
            if last not in _ROUTE_DECORATORS:
                return f"`{definition.qualname}` is decorated with `@{decorator}`, which may call it synchronously"
        if definition.is_generator and not fixture:
            return f"`{definition.qualname}` is a generator; its callers iterate it synchronously"
        # pytest passes fixtures by name, not as callbacks; an entry stays a sync callable
        if key in callbacks and not fixture and key not in entries:
            where, line = callbacks[key]
            return f"`{definition.qualname}` is passed as a callback ({where}:{line})"
        if definition.owner_class:
            bases = resolver.non_project_bases(path, definition.owner_class)
            if bases:
                return (
                    f"`{definition.qualname}` may override a method of `{bases[0]}`, "
                    "which calls it synchronously"
                )
        return None

    # Resolve every call once.
    resolved: List[Tuple[str, CallSite, object]] = []
    for path in sorted(modules):
        facts = modules[path]
        for call in facts.calls:
            if call.line in facts.ignored:
                continue
            key = resolver.call(path, call.owner, call.target, call.instance_of)
            if key is None or (isinstance(key, tuple) and key[0] == "class"):
                continue
            resolved.append((path, call, key))

    makes_async: Set[DefKey] = {
        key for key in seeds if key in defs and not defs[key].is_async and boundary(key) is None
    }

    def is_coroutine(key: object) -> bool:
        if isinstance(key, str):
            return key.startswith("lib:")
        definition = defs.get(key)
        if definition is None:
            return False
        if definition.is_async:
            return not definition.is_generator  # an async generator is iterated, not awaited
        return key in makes_async and key not in entries

    def kept(path: str, call: CallSite) -> bool:
        """The call's value is awaited or handed on (directly or through a name)."""
        if call.context in (AWAITED, HANDED):
            return True
        return call.context == STORED and call.stored_as in modules[path].handled.get(
            call.owner, set()
        )

    # A sync function returning a coroutine is a coroutine factory only if it is used as one:
    # some call site awaits its result or hands it on. A route returning one is not.
    factories = {key for path, call, key in resolved if isinstance(key, tuple) and kept(path, call)}

    def forgotten(path: str, call: CallSite) -> bool:
        """The call's coroutine is dropped or used as if it were the result."""
        if call.context == PLAIN:
            return True
        if call.context == STORED:
            return not kept(path, call) and call.stored_as not in modules[path].passed.get(
                call.owner, set()
            )
        if call.context == RETURNED:
            return (path, call.owner) not in factories
        return False

    changed = True
    while changed:
        changed = False
        for path, call, key in resolved:
            owner = (path, call.owner)
            if owner not in defs or defs[owner].is_async or owner in makes_async or owner in run_in:
                continue
            if is_coroutine(key) and forgotten(path, call) and boundary(owner) is None:
                makes_async.add(owner)
                changed = True

    awaits: Dict[str, Set[Span]] = {}
    runs: Dict[str, Set[Span]] = {}
    findings: Dict[str, List[Finding]] = {}

    def find(path: str, call: CallSite, code: str, message: str, hint: str) -> None:
        findings.setdefault(path, []).append(
            Finding(call.span[0], call.span[1] + 1, code, message, hint)
        )

    for path, call, key in resolved:
        if not is_coroutine(key):
            continue
        callee = key[len("lib:") :] if isinstance(key, str) else key[1]
        owner = (path, call.owner)
        async_owner = owner in defs and (defs[owner].is_async or owner in makes_async)
        if call.context in (AWAITED, HANDED):
            continue
        if call.context == INTO_AWAITED:
            find(
                path,
                call,
                CODE_STORED,
                f"coroutine `{callee}()` is passed, not awaited, to a call that is awaited",
                "if that callee wants the result rather than the coroutine, await the argument",
            )
            continue
        if (
            call.context == STORED
            and not kept(path, call)
            and call.stored_as in modules[path].passed.get(call.owner, set())
        ):
            find(
                path,
                call,
                CODE_STORED,
                f"coroutine `{callee}()` is kept in `{call.stored_as}`, which is passed on to other code",
                f"await `{call.stored_as}` where its result is needed, or hand it to create_task/gather",
            )
            continue
        if owner in run_in and call.span in run_in[owner]:
            runs.setdefault(path, set()).add(call.span)
            continue
        if async_owner:
            if call.context in (PLAIN, RETURNED) or (
                call.context == STORED and forgotten(path, call)
            ):
                awaits.setdefault(path, set()).add(call.span)
            elif call.context in (GENEXP, NESTED):
                where = (
                    "a generator expression" if call.context == GENEXP else "a nested comprehension"
                )
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is not awaited, and cannot be inside {where}",
                    "use a loop or a single list comprehension, then rerun asyncfix",
                )
            continue
        if call.owner == "":
            if call.statement and forgotten(path, call):
                runs.setdefault(path, set()).add(call.span)
            elif call.context != RETURNED:
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is called at module level and never run",
                    "run it with asyncio.run(...) from a main function, or await it in a coroutine",
                )
            continue
        if call.owner.startswith("<"):
            if forgotten(path, call) or call.context in (GENEXP, NESTED):
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is called in a {call.owner[1:-1]} and never awaited",
                    "move the call into a coroutine",
                )
            continue
        if (
            owner in defs
            and call.context != RETURNED
            and (forgotten(path, call) or call.context in (GENEXP, NESTED))
        ):
            reason = boundary(owner) or "it cannot await here"
            find(
                path,
                call,
                CODE_BOUNDARY,
                f"coroutine `{callee}()` is not awaited in sync `{call.owner}`, which cannot become async: {reason}",
                "make the caller async by hand, or run the coroutine with asyncio.run / a task",
            )

    result: Dict[str, FileActions] = {}
    make: Dict[str, Set[Tuple[int, str]]] = {}
    for path, qualname in makes_async:
        definition = defs[(path, qualname)]
        make.setdefault(path, set()).add((definition.line, definition.name))
    for path in sorted(set(awaits) | set(runs) | set(findings) | set(make)):
        result[path] = FileActions(
            await_spans=frozenset(awaits.get(path, ())),
            run_spans=frozenset(runs.get(path, ())),
            make_async=frozenset(make.get(path, ())),
            findings=tuple(
                sorted(set(findings.get(path, ())), key=lambda f: (f.line, f.column, f.code))
            ),
        )
    return result


def combine_all(
    per_file: Mapping[str, Dict[str, Any]],
    codemods: List[Any],
    root: str,
    modules: Optional[Mapping[str, ModuleFacts]] = None,
    options: Optional[Mapping[str, Any]] = None,
) -> ProjectIndex:
    """Build the index from ``{path: {codemod NAME: facts}}`` and the call-graph facts, in
    sorted path order so the result never depends on scheduling. Each codemod may name
    functions it will make await (``async_seeds``); the propagation starts from those."""
    facts: Dict[str, Any] = {}
    seeds: List[DefKey] = []
    entries: Set[DefKey] = set()
    for codemod in codemods:
        mine = {
            path: per_file[path][codemod.NAME]
            for path in sorted(per_file)
            if codemod.NAME in per_file[path]
        }
        combined = codemod.combine_with_options(mine, root, options or {})
        if combined is not None:
            facts[codemod.NAME] = combined
            seeds.extend(codemod.async_seeds(combined))
            entries.update(getattr(codemod, "async_entries", lambda _: ())(combined))
    actions: Dict[str, FileActions] = {}
    names = frozenset(codemod.NAME for codemod in codemods)
    # One resolver for the whole index: its memoised answers serve the await machinery, the
    # native rung and the blocking plan alike.
    resolver = _Resolver(modules, root) if modules else None
    if modules and AWAIT_CODEMOD in names:
        from . import native

        # The first rung of the fix ladder: blocking helpers a family converts natively, whose
        # closure is complete, become async with every caller (native.py).
        rung = native.plan(modules, resolver, names, options or {}, facts)
        seeds.extend(rung.seeds)
        actions = build(
            modules,
            seeds,
            root,
            resolver,
            rung.runs,
            async_fixtures=bool((options or {}).get("migrate")),
            entries=frozenset(entries),
        )
        actions = native.with_findings(actions, rung.findings)
        facts[native.FACTS_KEY] = rung  # the tests' mocks requests_to_httpx converts
    plan = None
    if modules:
        from . import blocking

        if names & {blocking.DEMOTE_CODEMOD, blocking.OFFLOAD_CODEMOD}:
            plan = blocking.analyse(
                modules, root, _made_async(modules, actions), options or {}, names, resolver
            )
    async_names = None
    if modules is not None:
        async_names = {path: m.async_names for path, m in modules.items() if m.async_names}
    return ProjectIndex(
        root=root, facts=facts, actions=actions, async_names=async_names, blocking=plan
    )


def _made_async(
    modules: Mapping[str, ModuleFacts], actions: Mapping[str, FileActions]
) -> Set[DefKey]:
    made: Set[DefKey] = set()
    for path, action in actions.items():
        wanted = action.make_async
        if wanted:
            made.update(
                (path, q) for q, d in modules[path].defs.items() if (d.line, d.name) in wanted
            )
    return made
