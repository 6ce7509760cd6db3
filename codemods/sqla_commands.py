"""typer/click commands under ``--migrate``: the command stays a sync function, its body runs in
``asyncio.run`` (issue 17).

typer and click call a command synchronously and ignore a coroutine it would return, so a
command that opens a session on the engine that becomes async cannot itself become ``async
def``. What a maintainer writes instead (typer's docs on async: run the coroutine with
``asyncio.run`` / ``anyio.run`` from the command) is the split::

    @main.command()                                   async def _create_user(email: str):
    def create_user(email: str):                          async with AsyncSession(engine) as s:
        \"\"\"Create user\"\"\"                    ->            ...
        with Session(engine) as s:
            ...                                       @main.command()
                                                      def create_user(email: str):
                                                          \"\"\"Create user\"\"\"
                                                          asyncio.run(_create_user(email))

The docstring (the command's help text), the decorators and the parameter defaults
(``typer.Option(...)``) stay on the command; the body, its annotations and its return annotation
move to ``_<name>``, which takes every parameter explicitly. The await machinery treats the
command as a function that becomes async (its session work converts, the project functions it
calls are awaited) while its callers keep calling it synchronously (``propagate.build``'s
``entries``): a sync caller such as a test helper gets a command that still runs to completion.

Proof, not names: a command is a module-level sync ``def`` whose decorators are a command
decorator of an object proven to be a typer app or a click group in the same module
(``X = typer.Typer(...)``, ``X = click.Group(...)``, ``@click.group() def X``), or
``click.command``/``click.group`` themselves, plus click's parameter decorators. Anything else
decorated stays a boundary (SQLA008 names it).
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from .sqla_facts import _resolve
from .sqla_shapes import _own

TYPER_APPS = frozenset({"typer.Typer", "typer.main.Typer"})
CLICK_GROUPS = frozenset({"click.Group", "click.core.Group"})
CLICK_COMMANDS = frozenset({"click.command", "click.group"})
# click's decorators that only declare parameters or context passing around a command
CLICK_PARAMETERS = frozenset(
    {
        "click.option",
        "click.argument",
        "click.pass_context",
        "click.pass_obj",
        "click.version_option",
        "click.help_option",
        "click.confirmation_option",
        "click.password_option",
    }
)


def _callee(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def cli_objects(tree: ast.Module, imports: Mapping[str, str]) -> Set[str]:
    """Module-level names proven to be a typer app or a click group."""
    found: Set[str] = set()
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and _resolve(statement.value.func, imports) in TYPER_APPS | CLICK_GROUPS
        ):
            found.add(statement.targets[0].id)
    for statement in tree.body:  # `@click.group() def cli()`, `@cli.group() def users()`
        if isinstance(statement, ast.FunctionDef) and any(
            _resolve(_callee(d), imports) == "click.group"
            or (
                isinstance(_callee(d), ast.Attribute)
                and _callee(d).attr == "group"  # type: ignore[attr-defined]
                and isinstance(_callee(d).value, ast.Name)  # type: ignore[attr-defined]
                and _callee(d).value.id in found  # type: ignore[attr-defined]
            )
            for d in statement.decorator_list
        ):
            found.add(statement.name)
    return found


def _command_decorator(decorator: ast.expr, objects: Set[str], imports: Mapping[str, str]) -> bool:
    callee = _callee(decorator)
    if _resolve(callee, imports) in CLICK_COMMANDS:
        return True
    return (
        isinstance(callee, ast.Attribute)
        and callee.attr in ("command", "group")
        and isinstance(callee.value, ast.Name)
        and callee.value.id in objects
    )


def cli_commands(tree: ast.Module, imports: Mapping[str, str]) -> Dict[str, int]:
    """Module-level sync ``def`` commands of typer/click (name -> line) that the split fits:
    not generators, ``_<name>`` free in the module."""
    objects = cli_objects(tree, imports)
    if not objects and not any(v.split(".")[0] == "click" for v in imports.values()):
        return {}
    bound = {
        target.id
        for statement in tree.body
        for target in (
            statement.targets
            if isinstance(statement, ast.Assign)
            else (
                [ast.Name(statement.name)]
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                else []
            )
        )
        if isinstance(target, ast.Name)
    } | set(imports)
    found: Dict[str, int] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef) or f"_{statement.name}" in bound:
            continue
        decorators = statement.decorator_list
        commands = [d for d in decorators if _command_decorator(d, objects, imports)]
        others = [d for d in decorators if d not in commands]
        if len(commands) != 1 or any(
            _resolve(_callee(d), imports) not in CLICK_PARAMETERS for d in others
        ):
            continue
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(statement)):
            continue
        found[statement.name] = statement.lineno
    return found


# -- the split (libcst) ----------------------------------------------------------------------


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


class _Returns(cst.CSTVisitor):
    """Whether a function body returns a value of its own (nested defs and lambdas aside)."""

    def __init__(self) -> None:
        self.value = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.value = True


def _arguments(params: cst.Parameters) -> List[cst.Arg]:
    args: List[cst.Arg] = [
        cst.Arg(cst.Name(p.name.value)) for p in [*params.posonly_params, *params.params]
    ]
    if isinstance(params.star_arg, cst.Param):
        args.append(cst.Arg(cst.Name(params.star_arg.name.value), star="*"))
    args.extend(
        cst.Arg(
            cst.Name(p.name.value),
            keyword=cst.Name(p.name.value),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
        )
        for p in params.kwonly_params
    )
    if params.star_kwarg is not None:
        args.append(cst.Arg(cst.Name(params.star_kwarg.name.value), star="**"))
    return args


def _without_defaults(params: cst.Parameters) -> cst.Parameters:
    def plain(items: Sequence[cst.Param]) -> List[cst.Param]:
        return [
            p.with_changes(
                default=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.MaybeSentinel.DEFAULT
            )
            for p in items
        ]

    return params.with_changes(
        posonly_params=plain(params.posonly_params),
        params=plain(params.params),
        kwonly_params=plain(params.kwonly_params),
    )


def split_command(function: cst.FunctionDef) -> cst.FlattenSentinel:
    """``@cmd async def f(...)`` (made async by the await machinery) -> ``async def _f(...)``
    holding the body, and ``@cmd def f(...)`` running it with ``asyncio.run``."""
    name = function.name.value
    helper = f"_{name}"
    body = list(function.body.body)  # type: ignore[attr-defined]
    docstring: List[cst.BaseStatement] = []
    if len(body) > 1 and _is_docstring(body[0]):
        docstring, body = [body[0]], body[1:]
    returns = _Returns()
    for statement in body:
        statement.visit(returns)
    run = cst.Call(
        func=cst.Attribute(cst.Name("asyncio"), cst.Name("run")),
        args=[cst.Arg(cst.Call(func=cst.Name(helper), args=_arguments(function.params)))],
    )
    line = cst.SimpleStatementLine([cst.Return(run) if returns.value else cst.Expr(run)])
    first = body[0]
    if docstring and isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        body[0] = first.with_changes(leading_lines=[])  # type: ignore[call-arg]
    params = _without_defaults(function.params)
    # comments above the command stay with it (its decorators); the blank lines go first
    above = [*function.leading_lines]
    if function.decorators:
        above.extend(function.decorators[0].leading_lines)
    blank = [line for line in above if line.comment is None]
    comments = [line for line in above if line.comment is not None]
    inner = function.with_changes(
        name=cst.Name(helper),
        decorators=[],
        lines_after_decorators=[],
        params=params,
        body=function.body.with_changes(body=body),
        leading_lines=blank,
    )
    outer = function.with_changes(
        asynchronous=None,
        body=function.body.with_changes(body=[*docstring, line]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments],
    )
    if outer.decorators:
        outer = outer.with_changes(
            decorators=[outer.decorators[0].with_changes(leading_lines=[]), *outer.decorators[1:]]
        )
    return cst.FlattenSentinel([inner, outer])


# -- combine: the commands and who calls them ---------------------------------------------------


def command_callers(facts: Mapping[str, Any], resolver: Any, commands: Set[Tuple[str, str]]):
    """(path, site, command key, caller name, caller is async) of every call that resolves to a
    command (the resolver of sqla_closure: the project's imports)."""
    found = []
    for path, fact in sorted(facts.items()):
        for written, line, column, owner, is_async in getattr(fact, "call_refs", ()):
            if written.endswith(".callback"):  # click: the command object's function
                written = written[: -len(".callback")]
            head, _, rest = written.partition(".")
            key: Optional[Tuple[str, str]] = None
            if not rest and (path, written) in commands:
                key = (path, written)
            origin = resolver.imports.get(path, {}).get(head)
            if key is None and origin is not None:
                level, module, attribute = origin
                if attribute and not rest:
                    key = (resolver.module(path, level, module), attribute)
                elif attribute and "." not in rest:
                    dotted = f"{module}.{attribute}" if module else attribute
                    key = (resolver.module(path, level, dotted), rest)
                elif not attribute and rest:
                    parent, _, name = f"{module}.{rest}".rpartition(".")
                    key = (resolver.module(path, level, parent), name)
            if key in commands:
                found.append((path, line, column, key, owner, is_async))
    return found
