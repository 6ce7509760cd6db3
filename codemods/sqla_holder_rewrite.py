"""The transform's side of repository classes (sqla_holders.py says which, on the scan's ast):
the same question asked of libcst's tree, and the receiver of a session call."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst
import libcst.matchers as m


def receiver_name(node: cst.BaseExpression) -> Optional[str]:
    """``s`` -> "s"; ``self.session`` -> "self.session"; anything else None."""
    if isinstance(node, cst.Name):
        return node.value
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
    ):
        return f"self.{node.attr.value}"
    return None


def cst_holder_methods(
    cls: cst.ClassDef,
    session_kind: Callable[[Optional[cst.Annotation]], Optional[str]],
    inherited: Dict[str, str],
) -> Tuple[Optional[cst.FunctionDef], Dict[str, str], Dict[int, Dict[str, str]]]:
    """(the storing ``__init__``, {"self.attr": kind}, {id(method): the attributes it reads}).

    The scan already refused the run unless holder_attributes accepted the class, so the
    transform only needs to find the stored parameters again. ``inherited``: the attributes of
    the same-module repository this class subclasses without an ``__init__`` of its own."""
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    defs = [s for s in body if isinstance(s, cst.FunctionDef)]
    init = next((d for d in defs if d.name.value == "__init__"), None)
    if init is None:
        return None, inherited, _readers(defs, None, inherited)
    params = init.params
    kinds = {
        p.name.value: kind
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]
        for kind in [session_kind(p.annotation)]
        if kind is not None
    }
    stored: Dict[str, str] = {}
    for statement in init.body.body if isinstance(init.body, cst.IndentedBlock) else ():
        for small in getattr(statement, "body", ()):
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.value, cst.Name)
                and small.value.value in kinds
            ):
                name = receiver_name(small.targets[0].target)
                if name is not None and name.startswith("self."):
                    stored[name] = kinds[small.value.value]
    if not stored:
        return None, {}, {}
    return init, stored, _readers(defs, init, stored)


def _readers(
    defs: List[cst.FunctionDef], init: Optional[cst.FunctionDef], stored: Dict[str, str]
) -> Dict[int, Dict[str, str]]:
    methods: Dict[int, Dict[str, str]] = {}
    for function in defs if stored else ():
        if function is init:
            continue
        read = {
            name: kind
            for name, kind in stored.items()
            if m.findall(
                function,
                m.Attribute(value=m.Name("self"), attr=m.Name(name.partition(".")[2])),
            )
        }
        if read:
            methods[id(function)] = read
    return methods
