"""Repository classes: a class whose ``__init__`` takes a sync Session and only stores it
(``self.session = session``). The ``__init__`` stays a plain ``def`` (only its annotation
changes); the methods that use ``self.session`` are Session functions on ``self.session``, made
async like any other, and their callers await them (project.py resolves ``Repo(s).m()`` and
``self.repo.m()``).

Both passes ask the same question, one on ast (the scan, here) and one on libcst (the transform,
sqla_holder_rewrite.py).
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, Optional, Union

AstDef = Union[ast.FunctionDef, ast.AsyncFunctionDef]


def _stored(statement: ast.stmt, parameters: Dict[str, str]) -> Optional[str]:
    """``self.attr = parameter`` -> "attr"."""
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Attribute)
        and isinstance(statement.targets[0].value, ast.Name)
        and statement.targets[0].value.id == "self"
        and isinstance(statement.value, ast.Name)
        and statement.value.id in parameters
    ):
        return statement.targets[0].attr
    return None


def holder_attributes(
    cls: ast.ClassDef, session_kind: Callable[[Optional[ast.AST]], Optional[str]]
) -> Dict[str, str]:
    """``{"self.attr": kind}`` of a repository class; {} for any other class.

    Only a plain ``__init__`` qualifies: its sync Session parameters appear in nothing but
    ``self.attr = parameter`` statements of its own body (anything else is session work in a
    dunder method, which cannot become async: that stays a blocker)."""
    init = next(
        (s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None
    )
    if init is None or init.decorator_list:
        return {}
    args = init.args
    parameters = {
        a.arg: kind
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
        for kind in [session_kind(a.annotation)]
        if kind is not None and kind != "async"
    }
    if not parameters:
        return {}
    stored: Dict[str, str] = {}
    for statement in init.body:
        attribute = _stored(statement, parameters)
        if attribute is not None:
            stored[f"self.{attribute}"] = parameters[statement.value.id]  # type: ignore
    uses = sum(1 for node in ast.walk(init) if isinstance(node, ast.Name) and node.id in parameters)
    if len(stored) != len(parameters) or uses != len(parameters):
        return {}
    # `self.attr` must not be rebound elsewhere in the class
    for node in ast.walk(cls):
        if node is init:
            continue
        if (
            isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
            and node not in init.body
            and any(
                isinstance(t, ast.Attribute)
                and isinstance(t.value, ast.Name)
                and t.value.id == "self"
                and f"self.{t.attr}" in stored
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        ):
            return {}
    return stored


def uses_attribute(function: AstDef, dotted: str) -> bool:
    """``self.attr`` read in ``function`` (nested functions included: the checks refuse them)."""
    head, _, attribute = dotted.partition(".")
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.value, ast.Name)
        and node.value.id == head
        for node in ast.walk(function)
    )
