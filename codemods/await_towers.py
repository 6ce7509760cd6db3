"""A new ``(await x).m()`` that does not fit on its line becomes two statements.

Codemods write ``await`` where a call used to be, so ``v = f(a).strip()`` becomes
``v = (await g(a)).strip()``. When that line is too long, black can only split it into a tower
of parentheses::

    version = (
        await asyncio.to_thread(
            subprocess.check_output, ["git", "describe", "--tags", "--dirty"]
        )
    ).strip()

A maintainer writes the awaited call on its own line and the method call on its result::

    output = await asyncio.to_thread(
        subprocess.check_output, ["git", "describe", "--tags", "--dirty"]
    )
    version = output.strip()

Run by the engine on the final tree of a file (transform.py), before ``ParenthesizeAwaits``: an
``await`` that is the base of an attribute, subscript or call and has no parentheses yet is one
a codemod just wrote (parsed code always has them there), so code the user wrote is never
touched. The split is made only where it is exact:

- the statement is a simple statement alone on its line: an assignment (``=``, also annotated),
  ``return`` or an expression statement, not ``+=`` (its target is read before the value);
- its value is a chain of attributes, subscripts and calls whose base is the ``await``, so the
  awaited expression is the first thing the statement evaluates, before and after: no operator,
  short-circuit, conditional, lambda or comprehension stands between;
- the new name is bound nowhere in the function and read nowhere in it, nested scopes included
  (``result`` for a SQLAlchemy result, ``output`` for a process's output, ``response`` for an
  HTTP response); no such name: the tower stays.

A statement whose one-line form fits the line length keeps it: ``(await s.exec(q)).one()``.
With ``--no-format`` nothing is split: without black there is no tower.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, List, Optional, Set, Union

import libcst as cst

from .base import ParenthesizeAwaits

_RESULTS = frozenset({"execute", "exec", "scalars", "stream", "stream_scalars"})
_OUTPUTS = frozenset({"check_output", "getoutput", "getstatusoutput"})
_RESPONSES = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})

Chain = Union[cst.Attribute, cst.Subscript, cst.Call]


def _base(node: cst.BaseExpression) -> Optional[cst.Await]:
    """The new ``await`` at the base of the chain ``node`` (at least one link), else None."""
    links = 0
    while True:
        if isinstance(node, cst.Await):
            return node if links and not node.lpar else None
        if node.lpar:  # a parenthesized link: keep it simple, leave it
            return None
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        else:
            return None
        links += 1


def _replace_base(node: cst.BaseExpression, name: str) -> cst.BaseExpression:
    if isinstance(node, cst.Await):
        return cst.Name(name)
    if isinstance(node, cst.Call):
        return node.with_changes(func=_replace_base(node.func, name))
    assert isinstance(node, (cst.Attribute, cst.Subscript))
    return node.with_changes(value=_replace_base(node.value, name))


def _last_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return ""


def _wanted(awaited: cst.Await) -> str:
    """The name a maintainer gives what ``awaited`` returns."""
    call = awaited.expression
    if not isinstance(call, cst.Call):
        return "result"
    called = _last_name(call.func)
    if called in ("to_thread", "run_in_executor") and call.args:
        args = call.args if called == "to_thread" else call.args[1:]
        called = _last_name(args[0].value) if args else ""
    if called in _OUTPUTS:
        return "output"
    if called in _RESPONSES and isinstance(call.func, cst.Attribute):
        return "response"
    return "result"


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: Set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _value(statement: cst.BaseSmallStatement) -> Optional[cst.BaseExpression]:
    """The value of an assignment (``=``, annotated), ``return`` or expression statement: its
    targets are evaluated after it. ``+=`` reads its target first: None, as for the rest."""
    if isinstance(statement, (cst.Assign, cst.AnnAssign, cst.Return, cst.Expr)):
        return statement.value
    return None


class SplitAwaitTowers(cst.CSTTransformer):
    """See the module docstring. ``black_mode``: gives the project's black mode (None: a
    ``[tool.black]`` black does not take, so nothing is split)."""

    def __init__(self, black_mode: Callable[[], Optional[Any]]) -> None:
        super().__init__()
        self.black_mode = black_mode
        self.indents: List[str] = []
        self.default_indent = "    "
        self.functions: List[cst.FunctionDef] = []
        self.taken: List[Optional[Set[str]]] = []  # per function: its names, once needed
        self.mine: List[Set[str]] = []  # per function: the names this pass added
        self.classes: List[int] = []  # per class being visited: how many functions enclose it

    def visit_Module(self, node: cst.Module) -> None:
        self.default_indent = node.default_indent

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.indents.append(node.indent if node.indent is not None else self.default_indent)

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self.indents.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        self.taken.append(None)
        self.mine.append(set())

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.functions.pop()
        self.taken.pop()
        self.mine.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(len(self.functions))

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.classes.pop()
        return updated

    def _name(self, awaited: cst.Await) -> Optional[str]:
        if self.taken[-1] is None:
            names = _Names()
            self.functions[-1].visit(names)
            self.taken[-1] = names.names
        for name in (_wanted(awaited), "result"):
            if name in self.mine[-1] or name not in self.taken[-1]:
                return name
        return None

    def _fits(self, line: cst.SimpleStatementLine) -> bool:
        import black  # only for a file that has a new tower

        mode = self.black_mode()
        if mode is None:
            return True
        line = line.with_changes(leading_lines=[]).visit(ParenthesizeAwaits())
        code = cst.Module([line]).code
        width = max(mode.line_length - len("".join(self.indents).expandtabs()), 1)
        try:
            formatted = black.format_str(code, mode=replace(mode, line_length=width))
        except Exception:  # black cannot read it: keep the statement as it is
            return True
        return formatted.count("\n") <= 1

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> Union[cst.SimpleStatementLine, cst.FlattenSentinel[cst.SimpleStatementLine]]:
        in_class_body = bool(self.classes) and self.classes[-1] == len(self.functions)
        if not self.functions or in_class_body or len(updated.body) != 1:
            return updated
        statement = updated.body[0]
        value = _value(statement)
        awaited = _base(value) if value is not None else None
        if awaited is None or self._fits(updated):
            return updated
        name = self._name(awaited)
        if name is None:
            return updated
        self.mine[-1].add(name)
        first = cst.SimpleStatementLine(
            body=[cst.Assign([cst.AssignTarget(cst.Name(name))], awaited)],
            leading_lines=updated.leading_lines,
        )
        rest = statement.with_changes(value=_replace_base(value, name))
        second = updated.with_changes(body=[rest], leading_lines=[])
        return cst.FlattenSentinel([first, second])
