"""Session scopes and engine connections: ``@contextmanager def session_scope()`` opening a session from a factory,
yielding it, committing, rolling back on error and closing it (the SQLAlchemy docs' pattern).

Under ``--migrate`` the scope is a session factory like ``SessionLocal``: every
``with session_scope() as s`` converts to ``async with`` (the function holding it becomes async)
or nothing converts; the scope itself becomes ``@asynccontextmanager async def`` with its
session calls awaited. The scan and the transform recognise the same shape.
"""

from __future__ import annotations

import ast
from typing import Mapping, Optional

from .sqla_facts import AWAITED_METHODS, _resolve
from .sqla_shapes import _closes

CONTEXTMANAGER = "contextlib.contextmanager"


def _calls_on(statements, variable: str) -> bool:
    """Every statement is ``variable.method()`` (an awaitable session method) or ``raise``."""
    for statement in statements:
        if isinstance(statement, ast.Raise) and statement.exc is None:
            continue
        if not (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and isinstance(statement.value.func.value, ast.Name)
            and statement.value.func.value.id == variable
            and statement.value.func.attr in AWAITED_METHODS
        ):
            return False
    return True


def scope_variable(function: ast.AST, imports: Mapping[str, str]) -> Optional[str]:
    """The session variable of a session scope, or None.

    ``@contextmanager``, no parameters, body (after a docstring): ``s = F()`` then
    ``try: yield s; <s.method() ...>`` with ``except ...: <s.method() ...>; raise`` handlers and
    ``finally: s.close()``."""
    if (
        not isinstance(function, ast.FunctionDef)
        or len(function.decorator_list) != 1
        or _resolve(function.decorator_list[0], imports) != CONTEXTMANAGER
    ):
        return None
    args = function.args
    if args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg:
        return None
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 2:
        return None
    create, block = body
    if not (
        isinstance(create, ast.Assign)
        and len(create.targets) == 1
        and isinstance(create.targets[0], ast.Name)
        and isinstance(create.value, ast.Call)
        and not create.value.args
        and not create.value.keywords
        and isinstance(block, ast.Try)
        and not block.orelse
        and block.body
    ):
        return None
    variable = create.targets[0].id
    first = block.body[0]
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Yield)
        and isinstance(first.value.value, ast.Name)
        and first.value.value.id == variable
        and _calls_on(block.body[1:], variable)
        and all(
            handler.body
            and isinstance(handler.body[-1], ast.Raise)
            and _calls_on(handler.body, variable)
            for handler in block.handlers
        )
        and _closes(block.finalbody, variable)
    ):
        return None
    return variable


# `with engine.connect() as conn` / `with engine.begin() as conn` -> `async with`, calls awaited
CONNECTION_AWAITED = frozenset(
    {"execute", "scalar", "scalars", "commit", "rollback", "run_sync", "close", "exec_driver_sql"}
)


def connection_only(function: ast.AST, variable: str) -> bool:
    """Every use of ``variable`` in ``function`` is ``variable.<awaitable method>(...)`` and it
    is never rebound (other than by the ``with`` itself)."""
    seen = False
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == variable:
            if isinstance(node.ctx, ast.Store):
                if seen:
                    return False
                seen = True
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            continue
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.Name)
                and child.id == variable
                and isinstance(child.ctx, ast.Load)
            ):
                return False
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == variable
        ):
            if node.attr not in CONNECTION_AWAITED:
                return False
    return seen
