"""The split of a typer/click command under ``--migrate`` (sqla_commands.py says which commands
and why): the sync command keeps its decorators, docstring and defaults and runs
``asyncio.run(_<name>(...))``; the engine's name joins an existing import. libcst."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst
import libcst.helpers


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


def split_command(function: cst.FunctionDef, engine: str) -> cst.FlattenSentinel:
    """``@cmd async def f(...)`` (made async by the await machinery) -> ``async def _f(...)``
    holding the body, ending with ``await <engine>.dispose()`` in a ``finally`` unless
    ``engine`` is "" (``command_engines`` says why), and ``@cmd def f(...)`` running it with
    ``asyncio.run``."""
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
    if engine:
        dispose = cst.parse_statement(f"await {engine}.dispose()")
        body = [
            cst.Try(
                body=cst.IndentedBlock(body=body),
                finalbody=cst.Finally(body=cst.IndentedBlock(body=[dispose])),
            )
        ]
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


def _isort_key(name: str) -> Tuple[int, str]:
    """isort's default order of imported names (``order_by_type``): CONSTANTS, Classes, the
    rest, each case-insensitively."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def with_engine_import(
    module: cst.Module, level: int, dotted: str, engine: str
) -> Optional[cst.Module]:
    """``module`` with ``engine`` added, in isort's order, to its module-level ``from <level
    dots><dotted> import ...`` (libcst's AddImportsVisitor would write a second line for a
    relative import); None when there is no such statement to extend."""
    body = list(module.body)
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for position, small in enumerate(statement.body):
            if not (
                isinstance(small, cst.ImportFrom)
                and len(small.relative) == level
                and not isinstance(small.names, cst.ImportStar)
                and (cst.helpers.get_full_name_for_node(small.module) if small.module else "")
                == dotted
            ):
                continue
            names = list(small.names)
            if any(n.asname is None and n.evaluated_name == engine for n in names):
                return module
            if small.lpar is not None or any(
                isinstance(n.comma, cst.Comma) and "\n" in module.code_for_node(n.comma)
                for n in names
            ):
                continue  # a parenthesized, wrapped list: leave it to AddImportsVisitor
            alias = cst.ImportAlias(name=cst.Name(engine))
            at = len(names)
            for i, n in enumerate(names):
                if _isort_key(engine) < _isort_key(n.evaluated_name):
                    at = i
                    break
            names.insert(at, alias)
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            names = [
                n.with_changes(comma=comma if i < len(names) - 1 else cst.MaybeSentinel.DEFAULT)
                for i, n in enumerate(names)
            ]
            smalls = list(statement.body)
            smalls[position] = small.with_changes(names=names)
            body[index] = statement.with_changes(body=smalls)
            return module.with_changes(body=body)
    return None
