"""The statement surgery of dependency_close: find a release of a name, and rebuild blocks
with the release placed in ``finally`` (libcst helpers, no project facts).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m

from .dependency_facts import (
    FINALIZERS,
    RELEASE_METHODS,
)

# A release found in the code is `(await) x.close()` / `(await) x.aclose()`, no arguments.
_RELEASE_CALL = m.Call(
    func=m.Attribute(value=m.Name(), attr=m.OneOf(*(m.Name(n) for n in RELEASE_METHODS))), args=()
)
_RELEASE_EXPR = _RELEASE_CALL | m.Await(expression=_RELEASE_CALL)

Release = Tuple[str, bool]  # (method, awaited)


def _is_release_of(node: cst.CSTNode, name: str) -> bool:
    if not m.matches(node, _RELEASE_EXPR):
        return False
    call = node.expression if isinstance(node, cst.Await) else node
    return call.func.value.value == name


def release_statement(statement: cst.CSTNode, name: str) -> bool:
    """``x.close()`` / ``await x.aclose()`` ... as a statement of its own."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and _is_release_of(statement.body[0].value, name)
    )


def yields_name(node: cst.CSTNode, name: Optional[str] = None) -> bool:
    """``yield name`` as a statement of its own."""
    value = m.Name(name) if name else m.DoNotCare()
    return m.matches(node, m.SimpleStatementLine(body=[m.Expr(value=m.Yield(value=value))]))


class _Calls(cst.CSTVisitor):
    """The calls, yields and ``raise`` statements of a piece of one function's own code."""

    def __init__(self) -> None:
        self.calls: List[cst.Call] = []
        self.yields = 0
        self.raises = 0
        self.awaits: List[cst.Await] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        self.yields += 1

    def visit_Raise(self, node: cst.Raise) -> None:
        self.raises += 1

    def visit_Await(self, node: cst.Await) -> None:
        self.awaits.append(node)


def scan_calls(*nodes: Optional[cst.CSTNode]) -> _Calls:
    calls = _Calls()
    for node in nodes:
        if node is not None:
            node.visit(calls)
    return calls


def uses_name(call: cst.Call, name: str) -> bool:
    """``name.<finalizer>()`` or ``f(..., name, ...)``: a call that may release ``name``."""
    func = call.func
    if m.matches(func, m.Attribute(value=m.Name(name))) and func.attr.value in FINALIZERS:
        return True
    return any(m.matches(arg.value, m.Name(name)) for arg in call.args)


def class_like(callee: str) -> bool:
    return callee.rsplit(".", 1)[-1][:1].isupper()


def block_of(statements: Sequence[cst.BaseStatement]) -> cst.IndentedBlock:
    return cst.IndentedBlock(body=list(statements) or [cst.SimpleStatementLine([cst.Pass()])])


def reblock(block: cst.BaseSuite, statements: Sequence[cst.BaseStatement]) -> cst.BaseSuite:
    return block.with_changes(body=list(statements) or [cst.SimpleStatementLine([cst.Pass()])])


def else_without(orelse: Optional[cst.Else], name: str) -> Optional[cst.Else]:
    if orelse is None:
        return None
    kept = without_release(orelse.body.body, name)
    return orelse.with_changes(body=orelse.body.with_changes(body=kept)) if kept else None


def without_release(statements: Sequence[cst.BaseStatement], name: str) -> List[cst.BaseStatement]:
    return [s for s in statements if not release_statement(s, name)]
