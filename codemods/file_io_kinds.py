"""What file_io_to_thread counts as file I/O: the tables of the calls that touch the disk, and
the questions its transform asks of a node (an opener? certainly a ``pathlib.Path``? a plain
expression, which runs no user code? plain work on an open file?).
"""

from __future__ import annotations

from typing import Optional, Sequence

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, QualifiedNameSource, ScopeProvider

from .base import is_dotted_name
from .gate_tables import (  # noqa: F401 - the tables' home has no libcst (the first pass reads them)
    LAZY_PATH_METHODS,
    OPENERS,
    OS_PATH_FUNCTIONS,
    PATH_METHODS,
    PURE_OS_PATH_FLAGGED,
)

PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})

READ_METHODS = frozenset({"read", "readline", "readlines"})
FILE_METHODS = READ_METHODS | {"write", "writelines", "seek", "tell", "truncate", "flush"}
PURE_CALLS = frozenset({"json.dumps", "json.loads"})

_PLAIN_LEAVES = (
    cst.Name,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.SimpleString,
    cst.Ellipsis,
)


class FileIoKinds:
    """FileIoToThread's questions about a node (a mixin: it reads the codemod's metadata)."""

    # -- what a name is ---------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> Optional[str]:
        """``imported_name``, and builtins (``open``) too, when not shadowed."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or not is_dotted_name(node):
            return None
        names = scope.get_qualified_names_for(node)
        if len(names) != 1:
            return None
        (name,) = names
        if name.source in (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN):
            return name.name
        return None

    def _is_opener(self, node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, (cst.Name, cst.Attribute))
            and self._qualified(node.func) in OPENERS
        )

    def _annotation_is_path(self, annotation: cst.BaseExpression) -> bool:
        """``Path``, ``pathlib.Path``, ``Optional[Path]``, ``Path | None``."""
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            sides = [annotation.left, annotation.right]
            return any(self._annotation_is_path(s) for s in sides) and all(
                self._annotation_is_path(s) or m.matches(s, m.Name("None")) for s in sides
            )
        if isinstance(annotation, cst.Subscript) and self._qualified(annotation.value) in (
            "typing.Optional",
            "typing.Union",
        ):
            parts = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            return any(self._annotation_is_path(p) for p in parts) and all(
                self._annotation_is_path(p) or m.matches(p, m.Name("None")) for p in parts
            )
        return isinstance(annotation, (cst.Name, cst.Attribute)) and (
            self._qualified(annotation) in PATH_CLASSES
        )

    def _is_path(self, node: cst.BaseExpression) -> bool:
        """True when ``node`` is certainly a ``pathlib.Path``: ``Path(...)``, or a name whose
        every binding in its scope is a ``Path``-annotated parameter / variable or
        ``x = Path(...)``."""
        if isinstance(node, cst.Call):
            return isinstance(node.func, (cst.Name, cst.Attribute)) and (
                self._qualified(node.func) in PATH_CLASSES
            )
        if not isinstance(node, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = scope[node.value]
        if not assignments:
            return False
        for assignment in assignments:
            bound = getattr(assignment, "node", None)
            if isinstance(bound, cst.Param):
                if bound.annotation is None or bound.star:
                    return False
                if not self._annotation_is_path(bound.annotation.annotation):
                    return False
                continue
            parent = self.get_metadata(ParentNodeProvider, bound, None) if bound else None
            if isinstance(parent, cst.AnnAssign) and parent.target is bound:
                if not self._annotation_is_path(parent.annotation.annotation):
                    return False
                continue
            if isinstance(parent, cst.AssignTarget):
                statement = self.get_metadata(ParentNodeProvider, parent)
                if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                    if self._is_path(statement.value) and isinstance(statement.value, cst.Call):
                        continue
            return False
        return True

    # -- plain expressions: no user code runs when they are evaluated (beyond attribute access)

    def _plain(self, node: Optional[cst.CSTNode]) -> bool:
        if node is None:
            return True
        if isinstance(node, _PLAIN_LEAVES):
            return True
        if isinstance(node, cst.Attribute):
            return self._plain(node.value)
        if isinstance(node, cst.Subscript):
            return self._plain(node.value) and all(
                isinstance(e.slice, cst.Index) and self._plain(e.slice.value) for e in node.slice
            )
        if isinstance(node, cst.ConcatenatedString):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.FormattedString):
            return all(
                isinstance(part, cst.FormattedStringText) or self._plain(part.expression)
                for part in node.parts
            )
        if isinstance(node, cst.BinaryOperation):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.UnaryOperation):
            return self._plain(node.expression)
        if isinstance(node, cst.BooleanOperation):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, cst.Comparison):
            return self._plain(node.left) and all(
                self._plain(c.comparator) for c in node.comparisons
            )
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return all(self._plain(e.value) for e in node.elements)
        if isinstance(node, cst.Dict):
            return all(
                (
                    self._plain(e.value)
                    if isinstance(e, cst.StarredDictElement)
                    else self._plain(e.key) and self._plain(e.value)
                )
                for e in node.elements
            )
        if isinstance(node, cst.Call):
            return (
                isinstance(node.func, (cst.Name, cst.Attribute))
                and self._qualified(node.func) in PURE_CALLS
                and self._plain_args(node.args)
            )
        return False

    def _plain_args(self, args: Sequence[cst.Arg]) -> bool:
        return all(self._plain(arg.value) for arg in args)

    def _file_op(self, node: cst.BaseExpression, handle: str) -> Optional[str]:
        """``read`` / ``write`` / ``use`` when ``node`` is plain work on the file ``handle``."""
        if not isinstance(node, cst.Call) or not self._plain_args(node.args):
            return None
        if m.matches(node.func, m.Attribute(m.Name(handle), m.Name())):
            method = node.func.attr.value
            if method in READ_METHODS:
                return "read"
            if method in ("write", "writelines"):
                return "write"
            return "use" if method in FILE_METHODS else None
        name = (
            self._qualified(node.func) if isinstance(node.func, (cst.Name, cst.Attribute)) else None
        )
        handles = [a for a in node.args if m.matches(a.value, m.Name(handle))]
        if name == "json.load" and len(node.args) >= 1 and node.args[0].keyword is None:
            return "read" if m.matches(node.args[0].value, m.Name(handle)) else None
        if name == "json.dump" and len(node.args) >= 2 and handles:
            return "write" if handles[0] is node.args[1] and node.args[1].keyword is None else None
        return None
