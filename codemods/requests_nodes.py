"""The libcst pieces the modules of ``requests_to_httpx`` share: the plan of one call
(``CallPlan``), the collector of the nodes the analysis needs, and small node helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst
import libcst.matchers as m

STRING = m.SimpleString() | m.ConcatenatedString() | m.FormattedString()


def accesses_of(scope, name: str) -> list:
    """Every access of ``name`` as bound in ``scope``: ``scope.accesses`` holds only the
    scope's own, so a use in a comprehension or lambda inside it would be missed (a session
    call there would stay un-awaited after the session became an AsyncClient)."""
    found = {id(access): access for access in scope.accesses[name]}
    for assignment in scope.assignments[name]:
        for access in assignment.references:
            found.setdefault(id(access), access)
    return list(found.values())


def source_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def dotted(name: str) -> cst.BaseExpression:
    return cst.parse_expression(name)


@dataclass
class CallPlan:
    """How one call is rewritten: built from the *updated* call's args at leave time."""

    family: str  # "requests" | "httpx"
    method: str  # the client method to call: get/post/.../request/stream
    leading: List[cst.BaseExpression]  # positional args put before the mapped ones
    actions: List[Tuple[int, Optional[str], str]]  # (arg index, keyword or None, transform)
    extra: List[Tuple[str, cst.BaseExpression]]  # keywords added at the end
    client_kwargs: List[Tuple[str, cst.BaseExpression]] = field(default_factory=list)
    receiver: Optional[str] = None  # the client name; None until the function is planned
    stream: bool = False  # `client.stream(...)`: an async context manager, not awaited
    # for a stream: the `with` statement to make async and its `for` loops (id -> new iterable)
    with_id: Optional[int] = None
    fors: Dict[int, cst.BaseExpression] = field(default_factory=dict)
    shared: bool = False  # on the app's one client (requests_clients.py), not a per-call one


class Collector(cst.CSTVisitor):
    """The nodes the analysis needs, in source order."""

    def __init__(self) -> None:
        self.calls: List[cst.Call] = []
        self.tries: List[cst.Try] = []
        self.withs: List[cst.With] = []

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append(node)

    def visit_With(self, node: cst.With) -> None:
        self.withs.append(node)
