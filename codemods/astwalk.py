"""The fast ``ast`` walk the first pass is made of, and ``ast`` positions in libcst's unit."""

from __future__ import annotations

import ast
import builtins
import tokenize
from collections import deque
from io import BytesIO
from typing import Any, ClassVar, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from .program_facts import Span

# The first pass walks every file's tree in Python, so the walk is the cost after ast.parse.
# These versions of ast's own helpers skip the nodes no collector looks at as nodes
# (expression contexts and operators, read through their parent's ``ctx``/``op``/``ops``),
# about a third of all nodes, and look up each node class's fields once.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _child_fields(cls: type) -> Tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


def iter_child_nodes(node: ast.AST) -> List[ast.AST]:
    """``ast.iter_child_nodes`` without context and operator nodes (a list: cheaper than a
    generator for the handful of children a node has)."""
    children = []
    for name in _CHILD_FIELDS.get(node.__class__) or _child_fields(node.__class__):
        value = getattr(node, name, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, _AST):
                    children.append(item)
        elif isinstance(value, _AST):
            children.append(value)
    return children


_AST = ast.AST


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` (same order: breadth first) without context and operator nodes."""
    queue = deque([node])
    popleft, extend = queue.popleft, queue.extend
    while queue:
        node = popleft()
        extend(iter_child_nodes(node))
        yield node


class FastVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor`` with the ``visit_<Class>`` lookup done once per node class, and
    without context and operator nodes."""

    _methods: ClassVar[Dict[type, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: ast.AST) -> Any:
        cls = node.__class__
        methods = self.__class__._methods
        method = methods.get(cls)
        if method is None:
            method = getattr(self.__class__, "visit_" + cls.__name__, None)
            if method is None or method is ast.NodeVisitor.visit_Constant:
                method = self.__class__.generic_visit
            methods[cls] = method
        return method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        visit = self.visit
        for name in _CHILD_FIELDS.get(node.__class__) or _child_fields(node.__class__):
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _AST):
                        visit(item)
            elif isinstance(value, _AST):
                visit(value)


def dotted_name(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for an ast Name/Attribute chain; None for anything else (``f().x``)."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def binds_any(tree: ast.AST, names: Iterable[str]) -> bool:
    """Whether any of ``names`` is bound by anything but an import somewhere in the tree (a
    name stored, a def or class, a parameter), for several names in one walk. In any scope, on
    purpose, unlike bindings.py (one scope's bindings): a name asyncfix adds at module level is
    shadowed wherever a function binds it."""
    wanted = frozenset(names)
    if not wanted:
        return False
    stack = [tree]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        cls = node.__class__
        if cls is ast.Name:
            if node.id in wanted and node.ctx.__class__ is ast.Store:  # type: ignore[attr-defined]
                return True
            continue  # its only child is its ctx
        if cls in _BINDERS and node.name in wanted:  # type: ignore[attr-defined]
            return True
        if cls is ast.arg and node.arg in wanted:  # type: ignore[attr-defined]
            return True
        extend(iter_child_nodes(node))
    return False


_BINDERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def may_name(source: bytes, name: str) -> bool:
    """Whether an identifier of ``source`` can be ``name`` (an ASCII name): its bytes occur, or
    the source is not ASCII (Python reads identifiers NFKC-normalized: a fullwidth letter is
    the ASCII one). False saves a walk of the tree looking for it."""
    return name.encode() in source or not source.isascii()


def dotted_text(node: ast.AST) -> str:
    return dotted_name(node) or ""


class Columns:
    """ast columns are UTF-8 byte offsets; libcst's are characters."""

    def __init__(self, source: bytes) -> None:
        self._lines: Optional[List[str]] = None
        self._source = source
        self._ascii = source.isascii()  # then bytes are characters: the common, fast case

    def char(self, line: int, column: int) -> int:
        if self._ascii:
            return column
        if self._lines is None:
            try:
                encoding, _ = tokenize.detect_encoding(BytesIO(self._source).readline)
                text = self._source.decode(encoding)
            except (SyntaxError, UnicodeDecodeError, LookupError):
                text = self._source.decode("utf-8", "replace")
            self._lines = text.splitlines()
        if line - 1 >= len(self._lines):
            return column
        raw = self._lines[line - 1].encode("utf-8")
        return len(raw[:column].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> Span:
        return (
            node.lineno,
            self.char(node.lineno, node.col_offset),
            node.end_lineno or node.lineno,
            self.char(node.end_lineno or node.lineno, node.end_col_offset or 0),
        )


_ANNOTATED = frozenset({"Annotated", "typing.Annotated", "typing_extensions.Annotated"})
_OPTIONAL = frozenset({"Optional", "typing.Optional"})


def annotation_type(node: ast.AST) -> str:
    """The dotted class an annotation names: ``Svc``, ``Annotated[Svc, Depends()]`` and
    ``Optional[Svc]`` are all ``Svc``; anything else is "" (unknown)."""
    if isinstance(node, ast.Subscript) and dotted_text(node.value) in (_ANNOTATED | _OPTIONAL):
        inner = node.slice
        if isinstance(inner, ast.Tuple) and inner.elts:
            inner = inner.elts[0]
        return annotation_type(inner)
    return dotted_text(node)


def bound_names(function: ast.AST) -> FrozenSet[str]:
    """Names a function binds in its own scope (parameters, assignments, loop and with
    targets), minus those it declares global or nonlocal, and minus nested defs and imports
    (those are resolved, not shadowing): bindings.function_bindings, the one bindings reader
    (imported here, not at the top: bindings.py walks with this module's iter_child_nodes)."""
    from .bindings import function_bindings

    return function_bindings(function)


def own_nodes(function: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's own body (not of nested defs, lambdas or classes: a def
    that is a statement of the body is not walked either)."""
    stack = [node for node in function.body if not isinstance(node, _SCOPES)]
    while stack:
        node = stack.pop()
        yield node
        for child in iter_child_nodes(node):
            if not isinstance(child, _SCOPES):
                stack.append(child)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


BUILTINS = frozenset(dir(builtins))
