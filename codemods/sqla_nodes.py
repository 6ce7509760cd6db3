"""Node helpers the SQLAlchemy transform's modules share (libcst): names, calls, commas."""

from __future__ import annotations

from typing import List, Optional, Sequence

import libcst as cst
import libcst.matchers as m


def _name(node: cst.BaseExpression) -> Optional[str]:
    return node.value if isinstance(node, cst.Name) else None


def _attr_call(receiver: cst.BaseExpression, method: str, args: Sequence[cst.Arg] = ()) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(method)), args=list(args))


def _strip_commas(args: Sequence[cst.Arg]) -> List[cst.Arg]:
    return [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in args]


def _looks_like_entity(node: cst.BaseExpression) -> bool:
    """``User`` / ``models.User`` (a mapped class), not ``User.name`` or ``func.count(...)``."""
    if isinstance(node, cst.Name):
        return node.value[:1].isupper()
    if isinstance(node, cst.Attribute):
        return node.attr.value[:1].isupper() and not _looks_like_entity(node.value)
    return False


def _is_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString))


_JOINEDLOAD = m.Call(func=m.Name("joinedload") | m.Attribute(attr=m.Name("joinedload")))


def _fix_commas(args: Sequence[cst.Arg], trailing: bool = False) -> List[cst.Arg]:
    """Commas between arguments after some were added or dropped; a trailing comma only where
    the original list had one (black's magic trailing comma)."""
    result = []
    for index, arg in enumerate(args):
        if index == len(args) - 1:
            comma = cst.Comma() if trailing else cst.MaybeSentinel.DEFAULT
        elif isinstance(arg.comma, cst.Comma):
            comma = arg.comma
        else:
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        result.append(arg.with_changes(comma=comma))
    return result


def _trailing(args: Sequence[cst.Arg]) -> bool:
    return bool(args) and isinstance(args[-1].comma, cst.Comma)
