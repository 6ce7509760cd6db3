"""The emit policy: how asyncfix writes an offload, in one place.

Every codemod that moves work off the event loop builds its code here, so the diffs read the same
whatever family wrote them:

* a thread offload is ``await asyncio.to_thread(f, *args, **kwargs)`` (:func:`to_thread`): one
  line, keyword arguments as written, and it carries the caller's context variables
  (``run_in_executor`` does not);
* pure-Python CPU work, which holds the GIL, goes to a process pool:
  ``await asyncio.get_running_loop().run_in_executor(pool, f, *args)``, through
  ``functools.partial`` when there are keyword arguments (``run_in_executor`` takes none)
  (:func:`run_in_executor`); :func:`executor_for` is the choice between the two;
* a whole ``with`` block that must run on one thread (the resource opened, used and closed
  there) becomes a nested ``def`` called with ``await asyncio.to_thread(...)``, the names it
  assigns handed back as its return value (:func:`block_to_thread`), under a name free in the
  coroutine (:func:`free_name`).

* a resource shared by the app (an HTTP client, a process pool) is made on first use by a
  module-level helper placed under the imports (:func:`insert_helper`) and closed when the app
  stops: in the ``finally`` around the ``yield`` of the app's own lifespan, after that ``yield``,
  or in a new lifespan (:func:`lifespan_site` finds where, :func:`close_with_app` writes it);
  an app whose startup/shutdown is wired another way (``on_event``, a lifespan of another shape)
  gets no shutdown code, and the codemod says so in the code it writes.

Imports the emitted code needs are added by the codemod (``Codemod.add_needed_import``) and placed
the isort way by :mod:`.imports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Callable, Iterable, List, Optional, Sequence, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import Scope

from .base import awaited

THREAD = "thread"
PROCESS = "process"


def executor_for(holds_gil: bool, picklable: bool) -> str:
    """:data:`THREAD` for work that releases the GIL (C code, I/O), :data:`PROCESS` for
    pure-Python work that can be shipped to another process; unpicklable work stays on a
    thread (it frees the loop only partly: the caller reports that)."""
    return PROCESS if holds_gil and picklable else THREAD


def to_thread(*args: cst.Arg) -> cst.Await:
    """``await asyncio.to_thread(*args)``."""
    return awaited(cst.Call(cst.Attribute(cst.Name("asyncio"), cst.Name("to_thread")), list(args)))


def has_keywords(args: Sequence[cst.Arg]) -> bool:
    """``run_in_executor`` takes positional arguments only: these need ``functools.partial``."""
    return any(arg.keyword is not None or arg.star == "**" for arg in args)


def run_in_executor(
    executor: cst.BaseExpression, func: cst.BaseExpression, args: Sequence[cst.Arg]
) -> cst.Await:
    """``await asyncio.get_running_loop().run_in_executor(executor, func, *args)``, with
    ``functools.partial(func, *args, **kwargs)`` when there are keyword arguments (the caller
    imports ``functools`` then)."""
    if has_keywords(args):
        partial = cst.Call(
            cst.Attribute(cst.Name("functools"), cst.Name("partial")), [cst.Arg(func), *args]
        )
        target: List[cst.Arg] = [cst.Arg(partial)]
    else:
        target = [cst.Arg(func), *args]
    loop = cst.Call(cst.Attribute(cst.Name("asyncio"), cst.Name("get_running_loop")))
    return awaited(
        cst.Call(cst.Attribute(loop, cst.Name("run_in_executor")), [cst.Arg(executor), *target])
    )


def free_name(
    scope: Scope, candidates: Iterable[str], taken: AbstractSet[str] = frozenset()
) -> str:
    """The first candidate that nothing in ``scope`` (or a scope it sees) binds or reads and
    that is not in ``taken`` (names this run already gave in that scope); past the candidates,
    the first one numbered (``_read_file2``)."""
    wanted = list(candidates)

    def free(name: str) -> bool:
        return name not in taken and not (
            scope.assignments[name] or scope.accesses[name] or name in scope
        )

    for name in wanted:
        if free(name):
            return name
    number = 2
    while not free(f"{wanted[0]}{number}"):
        number += 1
    return f"{wanted[0]}{number}"


def _names(names: Sequence[str]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(name)) for name in names], lpar=[], rpar=[])


def block_to_thread(
    block: cst.BaseStatement, name: str, names: Sequence[str], returns: bool
) -> cst.FlattenSentinel[cst.BaseStatement]:
    """``block`` (a ``with`` statement, as rewritten so far) moved into ``def name():`` and run
    in a thread: ``names`` (assigned in the block, read after it) come back as its return value
    and are assigned again; when the block ends in its only ``return``, the coroutine returns
    what the thread returns. The block keeps its own lines; its leading lines (comments) go
    above the ``def``."""
    body: List[cst.BaseStatement] = [block.with_changes(leading_lines=[])]
    if names:
        body.append(cst.SimpleStatementLine([cst.Return(_names(names))]))
    helper = cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(),
        body=cst.IndentedBlock(body),
        leading_lines=block.leading_lines,
    )
    call = to_thread(cst.Arg(cst.Name(name)))
    if returns:
        statement: cst.BaseSmallStatement = cst.Return(call)
    elif names:
        statement = cst.Assign([cst.AssignTarget(_names(names))], call)
    else:
        statement = cst.Expr(call)
    return cst.FlattenSentinel([helper, cst.SimpleStatementLine([statement])])


# -- shared resources: one per app, opened and closed by the app's lifespan ------------------------

LIFESPAN = "lifespan"


def app_site(
    body: Sequence[cst.BaseStatement], is_app_class: Callable[[cst.BaseExpression], bool]
) -> Optional[int]:
    """The index of the module's one ``NAME = FastAPI(...)`` statement, when the app has no
    startup/shutdown wiring of its own (no ``lifespan``/``on_startup``/``on_shutdown`` argument,
    no ``**kwargs``); None when there is no such app, or more than one."""
    found: List[int] = []
    for index, statement in enumerate(body):
        if not m.matches(
            statement,
            m.SimpleStatementLine(
                body=[m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())]
            ),
        ):
            continue
        call = statement.body[0].value  # type: ignore[attr-defined]
        if is_app_class(call.func):
            found.append(index)
            if any(
                arg.star
                or (
                    arg.keyword is not None
                    and arg.keyword.value in ("lifespan", "on_startup", "on_shutdown")
                )
                for arg in call.args
            ):
                return None
    return found[0] if len(found) == 1 else None


# The docstring of a lifespan asyncfix adds: one text whichever resources close in it (a later
# codemod of the same run may add its own shutdown to it).
LIFESPAN_DOC = "Closes the app's shared resources (added by asyncfix) when the app stops."


def add_lifespan(
    body: List[cst.BaseStatement], index: int, shutdown: Sequence[cst.BaseStatement]
) -> None:
    """Give the app at ``body[index]`` a lifespan, defined just above it, that runs ``shutdown``
    when the app stops::

        @asynccontextmanager
        async def lifespan(app: FastAPI):
            \"\"\"<LIFESPAN_DOC>\"\"\"
            yield
            <shutdown>

        app = FastAPI(..., lifespan=lifespan)

    The caller imports ``contextlib.asynccontextmanager`` and checks that the names are free."""
    statement = body[index]
    call = statement.body[0].value  # type: ignore[attr-defined]
    params = cst.Parameters([cst.Param(cst.Name("app"), cst.Annotation(call.func.deep_clone()))])
    lines: List[cst.BaseStatement] = [
        cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{LIFESPAN_DOC}"""'))]),
        cst.SimpleStatementLine([cst.Expr(cst.Yield())]),
        *shutdown,
    ]
    lifespan = cst.FunctionDef(
        name=cst.Name(LIFESPAN),
        params=params,
        body=cst.IndentedBlock(lines),
        decorators=[cst.Decorator(cst.Name("asynccontextmanager"))],
        asynchronous=cst.Asynchronous(),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )
    args = list(call.args)
    new = cst.Arg(
        cst.Name(LIFESPAN),
        keyword=cst.Name(LIFESPAN),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if (
        args
        and isinstance(args[-1].comma, cst.Comma)
        and isinstance(args[-1].comma.whitespace_after, cst.ParenthesizedWhitespace)
    ):
        # `FastAPI(\n    title="x",\n)`: one more line in the same layout, trailing comma kept.
        before = args[-2].comma.whitespace_after if len(args) > 1 else call.whitespace_before_args  # type: ignore[union-attr]
        new = new.with_changes(comma=args[-1].comma)
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=before))
    elif args:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    args.append(new)
    small = statement.body[0].with_changes(value=call.with_changes(args=args))  # type: ignore[attr-defined]
    kept = list(statement.leading_lines)
    while kept and kept[0].comment is None:
        kept.pop(0)
    body[index] = statement.with_changes(
        body=[small], leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *kept]
    )
    body.insert(index, lifespan)


def _is_yield(statement: cst.BaseStatement) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.Expr(m.Yield())]))


def _has_yield(block: cst.BaseSuite) -> bool:
    return isinstance(block, cst.IndentedBlock) and any(_is_yield(s) for s in block.body)


@dataclass(frozen=True)
class LifespanSite:
    """Where the app's shutdown code goes: ``app`` is the index of the ``NAME = FastAPI(...)``
    statement; ``function`` the index of its own lifespan (None: :func:`add_lifespan` gives it
    one), ``in_finally`` whether its ``yield`` stands in a ``try`` whose ``finally`` runs the
    shutdown (else the shutdown goes at the end of the function)."""

    app: int
    function: Optional[int] = None
    in_finally: bool = False


def _is_asynccontextmanager(decorator: cst.Decorator) -> bool:
    return m.matches(
        decorator.decorator,
        m.Name("asynccontextmanager")
        | m.Attribute(m.Name("contextlib"), m.Name("asynccontextmanager")),
    )


def lifespan_site(
    body: Sequence[cst.BaseStatement], is_app_class: Callable[[cst.BaseExpression], bool]
) -> Union[LifespanSite, str]:
    """Where the module's one FastAPI app runs its shutdown code, or why asyncfix cannot tell.

    The app's own ``lifespan=NAME`` counts when NAME is a module-level
    ``@asynccontextmanager async def`` with one ``yield``, standing in its body, or in a
    ``with``/``try`` there (the shutdown goes into the ``try``'s ``finally``, else after the last
    statement), and no ``return``. An app with no startup/shutdown wiring gets a new lifespan."""
    index = app_site(body, is_app_class)
    if index is not None:
        return LifespanSite(index)
    found: List[int] = []
    lifespan: Optional[str] = None
    for position, statement in enumerate(body):
        if not m.matches(
            statement,
            m.SimpleStatementLine(
                body=[m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())]
            ),
        ):
            continue
        call = statement.body[0].value  # type: ignore[attr-defined]
        if not is_app_class(call.func):
            continue
        found.append(position)
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "lifespan":
                lifespan = arg.value.value if isinstance(arg.value, cst.Name) else None
    if len(found) != 1:
        return "the module makes no FastAPI app, or more than one"
    if lifespan is None:
        return "the app wires its startup/shutdown in a way asyncfix does not extend"
    for position, statement in enumerate(body):
        if not (isinstance(statement, cst.FunctionDef) and statement.name.value == lifespan):
            continue
        if statement.asynchronous is None or not any(
            _is_asynccontextmanager(d) for d in statement.decorators
        ):
            break
        if len(m.findall(statement, m.Yield())) != 1 or m.findall(statement, m.Return()):
            break
        for inner in statement.body.body:  # type: ignore[union-attr]
            if _is_yield(inner) or (isinstance(inner, cst.With) and _has_yield(inner.body)):
                return LifespanSite(found[0], position)
            if isinstance(inner, cst.Try) and _has_yield(inner.body):
                if inner.finalbody is not None:
                    return LifespanSite(found[0], position, in_finally=True)
        break
    return f"the app's lifespan `{lifespan}` has a shape asyncfix does not extend"


def close_with_app(
    body: List[cst.BaseStatement],
    site: LifespanSite,
    shutdown: Sequence[cst.BaseStatement],
) -> None:
    """Run ``shutdown`` when the app stops: at the end of its lifespan (in the ``finally`` of
    the ``try`` around its ``yield``), or in a new lifespan (:func:`add_lifespan`)."""
    if site.function is None:
        add_lifespan(body, site.app, shutdown)
        return
    function = body[site.function]
    assert isinstance(function, cst.FunctionDef) and isinstance(function.body, cst.IndentedBlock)
    statements = list(function.body.body)
    if site.in_finally:
        for position, inner in enumerate(statements):
            if isinstance(inner, cst.Try) and _has_yield(inner.body):
                final = inner.finalbody
                assert final is not None and isinstance(final.body, cst.IndentedBlock)
                block = final.body.with_changes(body=[*final.body.body, *shutdown])
                statements[position] = inner.with_changes(finalbody=final.with_changes(body=block))
                break
    else:
        statements.extend(shutdown)
    body[site.function] = function.with_changes(body=function.body.with_changes(body=statements))


def helper_index(body: Sequence[cst.BaseStatement]) -> int:
    """Where a module-level helper asyncfix adds goes: after the module's last top-level import
    (after its docstring when it has no import), before the code that may use it."""
    index = 0
    for position, statement in enumerate(body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if m.findall(statement, m.Import() | m.ImportFrom()):
            index = position + 1
    if (
        index == 0
        and body
        and m.matches(
            body[0],
            m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())]),
        )
    ):
        index = 1
    return index


def insert_helper(body: List[cst.BaseStatement], helper: cst.BaseStatement, above: int = 2) -> None:
    """Add ``helper`` (with its own comment lines) at :func:`helper_index`, ``above`` blank
    lines above it (isort wants one between the imports and a plain statement), two below (the
    comments above the statement that follows stay with it)."""
    index = helper_index(body)
    blank = [cst.EmptyLine(), cst.EmptyLine()]
    helper = helper.with_changes(leading_lines=[*[cst.EmptyLine()] * above, *helper.leading_lines])
    if index < len(body):
        following = body[index]
        kept = list(following.leading_lines)
        while kept and kept[0].comment is None:
            kept.pop(0)
        body[index] = following.with_changes(leading_lines=[*blank, *kept])
    body.insert(index, helper)
