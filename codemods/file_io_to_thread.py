"""file_io_to_thread: file and path I/O in a coroutine runs in a thread (``asyncio.to_thread``).

Why: ``open()``, ``f.read()``, ``Path.read_text()``, ``os.path.exists()`` block the event loop
for as long as the disk (or the network file system) takes; every other request waits (ruff /
flake8-async ASYNC230 and ASYNC240,
https://docs.astral.sh/ruff/rules/blocking-open-call-in-async-function/).

Before -> after::

    async def load(p: Path, name):          async def load(p: Path, name):
        if os.path.exists(name):                if await asyncio.to_thread(os.path.exists, name):
            with open(name) as f:      ->           def _read_file():
                data = f.read()                         with open(name) as f:
            return data                                     data = f.read()
        return p.read_text()                            return data
                                                        data = await asyncio.to_thread(_read_file)
                                                        return data
                                                    return await asyncio.to_thread(p.read_text)

Why ``asyncio.to_thread`` and not ``anyio.Path`` / ``aiofiles``: it is in the standard library
since Python 3.9, so the rewritten project gains no runtime dependency; it runs the *original*
sync code unchanged (same encoding defaults, newline handling, exceptions, ``int`` file
descriptors and ``bytes`` paths, which ``anyio.Path`` does not all accept), so the rewrite is
faithful by construction; and it copies contextvars. Async file APIs would not be cheaper to
offer as an option: every later use of the file object would need its own ``await`` and every
``os.path`` function a differently-shaped call, a second codemod rather than a setting.

The ``with open(...) as f:`` block moves, verbatim, into a small sync function defined in place
and called in a thread; the names it assigns come back as its return value. It is rewritten
only when the block is all plain file work: statements that call ``f``'s methods or
``json.load/json.dump``, assign plain names, or return, with arguments that are names,
literals, attribute / subscript / operator expressions or ``json.dumps/loads`` (no other call,
so no user code starts running in a thread), and ``f`` is not used after the block.
``open(...).read()`` (any method of the opened file, plain arguments) becomes
``await asyncio.to_thread(lambda: open(...).read())``.

Not rewritten, reported instead (ASYNC230): any other use of ``open`` / ``io.open`` /
``codecs.open`` in a coroutine. Reported (ASYNC240): the lazy ``Path.iterdir/glob/rglob/walk``
(a generator in a thread would still do its I/O on the loop), ``os.path.normpath`` (pure string
work that ruff flags anyway), and any of these inside a generator expression. Left alone: sync
code, ``os.path.join/dirname/...`` (no I/O), a receiver not known to be a ``pathlib.Path``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameSource, ScopeProvider

from .base import GENEXP, Codemod, is_dotted_name
from .emit import block_to_thread, free_name, to_thread
from .gate_tables import (
    LAZY_PATH_METHODS,
    OPENERS,
    OS_PATH_FUNCTIONS,
    PATH_METHODS,
    PURE_OS_PATH_FLAGGED,
)
from .gates import FileIoToThreadGate

OPEN_CODE = "ASYNC230"
PATH_CODE = "ASYNC240"

PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})

READ_METHODS = frozenset({"read", "readline", "readlines"})
FILE_METHODS = READ_METHODS | {"write", "writelines", "seek", "tell", "truncate", "flush"}
PURE_CALLS = frozenset({"json.dumps", "json.loads"})

_PLAIN_LEAVES = (
    cst.Name,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.SimpleString,
    cst.Ellipsis,
)


class _Plan:
    """How one ``with open(...) as f:`` block is moved into a thread."""

    def __init__(self, kind: str, names: List[str], returns: bool) -> None:
        self.kind = kind  # read / write / use: the helper's name
        self.names = names  # assigned in the block, handed back to the coroutine
        self.returns = returns  # the block ends with `return`


class FileIoToThread(FileIoToThreadGate, Codemod):
    DESCRIPTION = (
        "open()/pathlib.Path/os.path file I/O in async code -> await asyncio.to_thread(...)"
    )

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider, ParentNodeProvider)
    CODES = {
        OPEN_CODE: (
            "open() in async code blocks the event loop while the file is opened, read or\n"
            "written. asyncfix moves `with open(p) as f:` blocks that do only plain file work\n"
            "into a sync function run with `await asyncio.to_thread(...)`, and\n"
            "`open(p).read()` into `await asyncio.to_thread(lambda: open(p).read())`. It reports\n"
            "the rest: a file object kept open across other code, a block that calls other\n"
            "functions (they would start running in a thread), a block that awaits or uses\n"
            "the file after it. Fix by hand: put the file work in a sync function and await\n"
            "`asyncio.to_thread(function, args)`."
        ),
        PATH_CODE: (
            "pathlib.Path and os.path calls that touch the disk block the event loop.\n"
            "asyncfix rewrites `p.read_text()` to `await asyncio.to_thread(p.read_text)` and\n"
            "`os.path.exists(x)` to `await asyncio.to_thread(os.path.exists, x)`. It reports\n"
            "Path.iterdir/glob/rglob/walk (generators: do the iteration in a thread,\n"
            "e.g. `await asyncio.to_thread(lambda: list(p.iterdir()))`, if a list is fine),\n"
            "os.path.normpath (no I/O at all: silence ruff with `# noqa: ASYNC240`) and calls\n"
            "inside generator expressions."
        ),
    }

    def visit_Module(self, node: cst.Module) -> None:
        self._with_plans: Dict[int, _Plan] = {}
        self._lambda_calls: Set[int] = set()  # open(...).method(...) calls to run in a lambda
        self._handled_opens: Set[int] = set()
        self._named: Dict[int, Set[str]] = {}  # id(scope) -> names given to moved blocks there

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    # -- what a name is ---------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> Optional[str]:
        """``imported_name``, and builtins (``open``) too, when not shadowed."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or not is_dotted_name(node):
            return None
        names = scope.get_qualified_names_for(node)
        if len(names) != 1:
            return None
        (name,) = names
        if name.source in (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN):
            return name.name
        return None

    def _is_opener(self, node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, (cst.Name, cst.Attribute))
            and self._qualified(node.func) in OPENERS
        )

    def _annotation_is_path(self, annotation: cst.BaseExpression) -> bool:
        """``Path``, ``pathlib.Path``, ``Optional[Path]``, ``Path | None``."""
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            sides = [annotation.left, annotation.right]
            return any(self._annotation_is_path(s) for s in sides) and all(
                self._annotation_is_path(s) or m.matches(s, m.Name("None")) for s in sides
            )
        if isinstance(annotation, cst.Subscript) and self._qualified(annotation.value) in (
            "typing.Optional",
            "typing.Union",
        ):
            parts = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            return any(self._annotation_is_path(p) for p in parts) and all(
                self._annotation_is_path(p) or m.matches(p, m.Name("None")) for p in parts
            )
        return isinstance(annotation, (cst.Name, cst.Attribute)) and (
            self._qualified(annotation) in PATH_CLASSES
        )

    def _is_path(self, node: cst.BaseExpression) -> bool:
        """True when ``node`` is certainly a ``pathlib.Path``: ``Path(...)``, or a name whose
        every binding in its scope is a ``Path``-annotated parameter / variable or
        ``x = Path(...)``."""
        if isinstance(node, cst.Call):
            return isinstance(node.func, (cst.Name, cst.Attribute)) and (
                self._qualified(node.func) in PATH_CLASSES
            )
        if not isinstance(node, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = scope[node.value]
        if not assignments:
            return False
        for assignment in assignments:
            bound = getattr(assignment, "node", None)
            if isinstance(bound, cst.Param):
                if bound.annotation is None or bound.star:
                    return False
                if not self._annotation_is_path(bound.annotation.annotation):
                    return False
                continue
            parent = self.get_metadata(ParentNodeProvider, bound, None) if bound else None
            if isinstance(parent, cst.AnnAssign) and parent.target is bound:
                if not self._annotation_is_path(parent.annotation.annotation):
                    return False
                continue
            if isinstance(parent, cst.AssignTarget):
                statement = self.get_metadata(ParentNodeProvider, parent)
                if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                    if self._is_path(statement.value) and isinstance(statement.value, cst.Call):
                        continue
            return False
        return True

    # -- plain expressions: no user code runs when they are evaluated (beyond attribute access)

    def _plain(self, node: Optional[cst.CSTNode]) -> bool:
        if node is None:
            return True
        if isinstance(node, _PLAIN_LEAVES):
            return True
        if isinstance(node, cst.Attribute):
            return self._plain(node.value)
        if isinstance(node, cst.Subscript):
            return self._plain(node.value) and all(
                isinstance(e.slice, cst.Index) and self._plain(e.slice.value) for e in node.slice
            )
        if isinstance(node, cst.ConcatenatedString):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.FormattedString):
            return all(
                isinstance(part, cst.FormattedStringText) or self._plain(part.expression)
                for part in node.parts
            )
        if isinstance(node, cst.BinaryOperation):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.UnaryOperation):
            return self._plain(node.expression)
        if isinstance(node, cst.BooleanOperation):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.Comparison):
            return self._plain(node.left) and all(
                self._plain(c.comparator) for c in node.comparisons
            )
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return all(self._plain(e.value) for e in node.elements)
        if isinstance(node, cst.Dict):
            return all(
                (
                    self._plain(e.value)
                    if isinstance(e, cst.StarredDictElement)
                    else self._plain(e.key) and self._plain(e.value)
                )
                for e in node.elements
            )
        if isinstance(node, cst.Call):
            return (
                isinstance(node.func, (cst.Name, cst.Attribute))
                and self._qualified(node.func) in PURE_CALLS
                and self._plain_args(node.args)
            )
        return False

    def _plain_args(self, args: Sequence[cst.Arg]) -> bool:
        return all(self._plain(arg.value) for arg in args)

    def _file_op(self, node: cst.BaseExpression, handle: str) -> Optional[str]:
        """``read`` / ``write`` / ``use`` when ``node`` is plain work on the file ``handle``."""
        if not isinstance(node, cst.Call) or not self._plain_args(node.args):
            return None
        if m.matches(node.func, m.Attribute(m.Name(handle), m.Name())):
            method = node.func.attr.value
            if method in READ_METHODS:
                return "read"
            if method in ("write", "writelines"):
                return "write"
            return "use" if method in FILE_METHODS else None
        name = (
            self._qualified(node.func) if isinstance(node.func, (cst.Name, cst.Attribute)) else None
        )
        handles = [a for a in node.args if m.matches(a.value, m.Name(handle))]
        if name == "json.load" and len(node.args) >= 1 and node.args[0].keyword is None:
            return "read" if m.matches(node.args[0].value, m.Name(handle)) else None
        if name == "json.dump" and len(node.args) >= 2 and handles:
            return "write" if handles[0] is node.args[1] and node.args[1].keyword is None else None
        return None

    # -- `with open(...) as f:` -------------------------------------------------------------

    def _plan_with(self, node: cst.With) -> Optional[_Plan]:
        if node.asynchronous is not None or len(node.items) != 1:
            return None
        item = node.items[0]
        if not self._is_opener(item.item) or not self._plain_args(item.item.args):
            return None
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            return None
        handle = item.asname.name.value
        if not isinstance(node.body, cst.IndentedBlock):
            return None
        kinds: Set[str] = set()
        names: List[str] = []
        first_assigned: Dict[str, int] = {}
        returns = False
        statements = node.body.body
        for index, statement in enumerate(statements):
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                return None
            small = statement.body[0]
            if isinstance(small, cst.Expr):
                value, targets = small.value, []
            elif isinstance(small, cst.Assign) and all(
                isinstance(t.target, cst.Name) for t in small.targets
            ):
                value, targets = small.value, [t.target.value for t in small.targets]
            elif isinstance(small, cst.Return) and index == len(statements) - 1:
                value, targets, returns = small.value, [], True
            else:
                return None
            kind = self._file_op(value, handle) if value is not None else "use"
            if kind is None:
                if isinstance(small, cst.Expr) or not self._plain(value):
                    return None
                kind = "use"
            kinds.add(kind)
            read_names = {n.value for n in m.findall(value, m.Name())} if value else set()
            for name in targets:
                if name == handle:
                    return None
                first_assigned.setdefault(name, index)
                if name not in names:
                    names.append(name)
            # A name the helper assigns is local to it: it cannot read the coroutine's value.
            if any(first_assigned.get(n, -1) >= index for n in read_names):
                return None
        if returns and names:
            return None
        where = self.coroutine_of(node)
        if not isinstance(where, cst.FunctionDef):
            return None
        outside = [
            n
            for n in m.findall(where.body, m.Name(handle))
            if not any(n is inner for inner in m.findall(node, m.Name(handle)))
        ]
        if outside:
            return None
        kind = kinds.pop() if len(kinds) == 1 else "use"
        return _Plan(kind, names, returns)

    def visit_With(self, node: cst.With) -> None:
        if self.ignored(node) or self.coroutine_of(node) is None:
            return
        plan = self._plan_with(node)
        if plan is not None and self.name_is_free(node, "asyncio", "asyncio"):
            self._with_plans[id(node)] = plan
            self._handled_opens.add(id(node.items[0].item))

    def _helper_name(self, node: cst.With, plan: _Plan) -> str:
        """``_read_file`` (``_write_file``, ``_use_file``), free in the coroutine; else named
        for what it hands back (``_read_config``)."""
        scope = self.get_metadata(ScopeProvider, node)
        taken = self._named.setdefault(id(scope), set())
        name = free_name(
            scope,
            [f"_{plan.kind}_file", *(f"_{plan.kind}_{n.strip('_')}" for n in plan.names)],
            taken,
        )
        taken.add(name)
        return name

    def leave_With(
        self, original: cst.With, updated: cst.With
    ) -> Union[cst.BaseStatement, cst.FlattenSentinel[cst.BaseStatement]]:
        plan = self._with_plans.get(id(original))
        if plan is None:
            return updated
        name = self._helper_name(original, plan)
        self.add_needed_import("asyncio")
        self.rewrote()
        return block_to_thread(updated, name, plan.names, plan.returns)

    # -- calls ------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        # `open(...).read()`: the whole call runs in a lambda in a thread.
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in FILE_METHODS
            and self._is_opener(func.value)
            and self._plain_args(func.value.args)
            and self._plain_args(node.args)
            and isinstance(self.coroutine_of(node), cst.FunctionDef)
            and not self.ignored(node)
            and self.name_is_free(node, "asyncio", "asyncio")
        ):
            self._lambda_calls.add(id(node))
            self._handled_opens.add(id(func.value))

    def _to_thread(self, *args: cst.Arg) -> cst.Await:
        self.add_needed_import("asyncio")
        self.rewrote()
        return to_thread(*args)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self._lambda_calls:
            lambda_ = cst.Lambda(cst.Parameters(), updated)
            return self._to_thread(cst.Arg(lambda_))
        func = original.func
        if self._is_opener(original):
            if id(original) not in self._handled_opens and self.coroutine_of(original) is not None:
                self.report(
                    original,
                    OPEN_CODE,
                    f"{cst.Module([]).code_for_node(func)}() in a coroutine blocks the event loop",
                    "put the file work in a sync function and await asyncio.to_thread(it)",
                )
            return updated
        kind = self._path_call(original)
        if kind is None:
            return updated
        where = self.coroutine_of(original)
        if where is None or self.ignored(original):
            return updated
        label = cst.Module([]).code_for_node(func)
        if kind == "lazy":
            self.report(
                original,
                PATH_CODE,
                f"{label}() is a generator: its file system I/O runs wherever it is iterated",
                "iterate it in a thread: await asyncio.to_thread(lambda: list(...))",
            )
            return updated
        if kind == "pure":
            self.report(
                original,
                PATH_CODE,
                f"{label}() does no I/O; ruff flags it as blocking",
                "nothing to fix: silence it with `# noqa: ASYNC240`",
            )
            return updated
        if where is GENEXP:
            self.report(
                original,
                PATH_CODE,
                f"{label}() in a generator expression inside a coroutine blocks the event loop",
                "turn the generator expression into a loop or list comprehension, then rerun",
            )
            return updated
        if not self.name_is_free(original, "asyncio", "asyncio"):
            self.report(
                original,
                PATH_CODE,
                f"{label}() blocks the event loop; the name `asyncio` is bound to something else",
                "rename the local `asyncio`, then rerun",
            )
            return updated
        return self._to_thread(cst.Arg(updated.func), *updated.args)

    def _path_call(self, node: cst.Call) -> Optional[str]:
        """``eager`` / ``lazy`` / ``pure`` for a blocking os.path or Path call, else None."""
        func = node.func
        if isinstance(func, (cst.Name, cst.Attribute)):
            name = self._qualified(func)
            if name in OS_PATH_FUNCTIONS:
                return "eager"
            if name in PURE_OS_PATH_FLAGGED:
                return "pure"
        if isinstance(func, cst.Attribute) and (
            func.attr.value in PATH_METHODS or func.attr.value in LAZY_PATH_METHODS
        ):
            if self._is_path(func.value):
                return "lazy" if func.attr.value in LAZY_PATH_METHODS else "eager"
        return None
