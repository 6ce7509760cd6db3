"""The awaited response on a line of its own, where the chained form would be a tower.

``return requests.post(url, json=order).json()`` becomes ``(await client.post(url,
json=order)).json()``; when that no longer fits a line, black splits it into a tower of
parentheses (``return (`` / ``await client.post(...)`` / ``).json()``). A maintainer writes::

    response = await client.post(url, json=order)
    return response.json()

which is what this mixin of :class:`~.requests_to_httpx.RequestsToHttpx` writes, and only where
it is exact: the statement is ``return <chain>`` or ``name = <chain>``, where the chain
(attributes, calls, subscripts) starts at the await the rewrite made, so the await is the first
thing the statement evaluates, in the new form as in the old; ``response`` is a name the
function does not use (else the expression stays as it is). A short statement keeps the
chained form: ``return (await client.get(url)).json()`` is one plain line.
"""

from __future__ import annotations

from typing import Dict, Optional, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

# black's default line length: [tool.black] is not the codemods' to read; a project with longer
# lines gets the two-line form a little earlier, never a tower.
LINE_LENGTH = 88
NAME = "response"


class AwaitTowers:
    """Hoists a new ``await`` out of a chain that would not fit a line (module docstring)."""

    def _new_await(self, await_: cst.Await, call: cst.Call) -> cst.Await:
        """Record an await the rewrite made for ``call`` (an original node), with the
        function it is in; returns it."""
        where = self.coroutine_of(call)  # type: ignore[attr-defined]
        if isinstance(where, cst.FunctionDef):
            self.__dict__.setdefault("_tower_awaits", {})[id(await_)] = where
        return await_

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> Union[cst.SimpleStatementLine, cst.FlattenSentinel]:
        awaits: Dict[int, cst.FunctionDef] = self.__dict__.get("_tower_awaits", {})
        if not awaits or len(updated.body) != 1:
            return updated
        statement = updated.body[0]
        if isinstance(statement, cst.Return):
            value = statement.value
        elif (
            isinstance(statement, cst.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0].target, cst.Name)
        ):
            value = statement.value
        else:
            return updated
        base = _chain_base(value)
        if base is None or base is value or id(base) not in awaits:
            return updated
        if any(m.findall(awaits[id(base)], m.Name(NAME))):
            return updated
        indent = self.get_metadata(PositionProvider, original).start.column  # type: ignore
        line = " ".join(
            part.strip() for part in cst.Module([]).code_for_node(statement).splitlines()
        )
        if indent + len(line) + len("()") <= LINE_LENGTH:  # the parentheses the await needs
            return updated
        hoisted = cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(NAME))], value=base)],
            leading_lines=updated.leading_lines,
        )
        rest = updated.with_changes(
            body=[statement.with_changes(value=_replace(value, base, cst.Name(NAME)))],
            leading_lines=[],
        )
        return cst.FlattenSentinel([hoisted, rest])


def _chain_base(value: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """The expression a chain of attributes, calls and subscripts starts at (the first thing
    it evaluates)."""
    node = value
    while isinstance(node, (cst.Attribute, cst.Call, cst.Subscript)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node


def _replace(
    node: cst.BaseExpression, base: cst.BaseExpression, name: cst.Name
) -> cst.BaseExpression:
    if node is base:
        return name
    if isinstance(node, cst.Call):
        return node.with_changes(func=_replace(node.func, base, name))
    assert isinstance(node, (cst.Attribute, cst.Subscript))
    return node.with_changes(value=_replace(node.value, base, name))
