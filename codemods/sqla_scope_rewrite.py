"""The transform of a session scope sqla_scopes.py accepted: ``@asynccontextmanager async def``
with its session calls awaited (libcst)."""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from .sqla_facts import AWAITED_METHODS
from .sqla_scopes import CONTEXTMANAGER


def cst_scope_variable(
    function: cst.FunctionDef, imported_name: Callable[[cst.BaseExpression], Optional[str]]
) -> Optional[str]:
    """The transform's check: ``@contextmanager`` with ``s = F()`` first (the scan decided the
    rest: a scope it did not accept is no factory, so this is only asked of accepted ones)."""
    if len(function.decorators) != 1 or (
        imported_name(function.decorators[0].decorator) != CONTEXTMANAGER
    ):
        return None
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return None
        small = statement.body[0] if statement.body else None
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
            continue  # the docstring
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value
        return None
    return None


class _AwaitCalls(cst.CSTTransformer):
    """``s.commit()`` statements -> ``await s.commit()``."""

    def __init__(self, variable: str) -> None:
        super().__init__()
        self.variable = variable

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.Expr:
        value = updated.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and isinstance(value.func.value, cst.Name)
            and value.func.value.value == self.variable
            and value.func.attr.value in AWAITED_METHODS
        ):
            return updated.with_changes(value=cst.Await(expression=value))
        return updated


def async_scope(function: cst.FunctionDef, variable: str, decorator: str) -> cst.FunctionDef:
    """``@decorator async def`` with the session's calls awaited (returns: the caller's)."""
    body = function.body.visit(_AwaitCalls(variable))
    old = function.decorators[0]
    return function.with_changes(
        decorators=[old.with_changes(decorator=cst.Name(decorator))],
        asynchronous=cst.Asynchronous(),
        body=body,
    )
