"""The equivalent text of a file with syntax newer than the running Python (syntax.py says what
it is): libcst's tree of the file, its newer constructs blanked or rewritten in place so the
running ``ast`` parses the text with every kept token at its line and UTF-8 byte column.
Imported only for a file the running ``ast`` rejects."""

from __future__ import annotations

import ast
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .syntax import decode_source, source_lines

Position = Tuple[int, int]  # libcst's (line from 1, column in characters from 0)


def _width(char: str) -> str:
    """Blank for ``char``: as many spaces as its UTF-8 bytes (ast columns are bytes)."""
    if char in "\r\n":
        return char
    return " " * len(char.encode("utf-8", "surrogatepass"))


class _Text:
    """The file's characters, each replaceable by a string of the same UTF-8 length."""

    def __init__(self, text: str) -> None:
        self.lines = source_lines(text)
        self.edits: Dict[Position, str] = {}

    def char(self, position: Position) -> str:
        line, column = position
        if line > len(self.lines) or column >= len(self.lines[line - 1]):
            return ""
        return self.lines[line - 1][column]

    def positions(self, start: Position, end: Position) -> Iterable[Position]:
        line, column = start
        while (line, column) < end and line <= len(self.lines):
            if column < len(self.lines[line - 1]):
                yield line, column
                column += 1
            else:
                line, column = line + 1, 0

    def set(self, position: Position, new: str) -> None:
        self.edits[position] = new

    def blank(
        self, start: Position, end: Position, keep: Sequence[Tuple[Position, Position]] = ()
    ) -> None:
        for position in self.positions(start, end):
            if not any(first <= position < last for first, last in keep):
                self.edits[position] = _width(self.char(position))

    def continue_lines(self, start: Position, end: Position) -> None:
        """A blanked region over several lines: end each of its lines but the last with ``\\``."""
        for line in range(start[0], end[0]):
            body = self.lines[line - 1].rstrip("\r\n")
            first = start[1] if line == start[0] else 0
            if len(body) > first:
                self.edits[(line, len(body) - 1)] = "\\"

    def render(self, start: Position = (1, 0), end: Optional[Position] = None) -> str:
        if end is not None:
            return "".join(self.edits.get(p, self.char(p)) for p in self.positions(start, end))
        edited: Dict[int, List[Tuple[int, str]]] = {}
        for (line, column), new in self.edits.items():
            edited.setdefault(line, []).append((column, new))
        out = []
        for number, line in enumerate(self.lines, start=1):
            if number in edited:
                chars = list(line)
                for column, new in edited[number]:
                    chars[column] = new
                line = "".join(chars)
            out.append(line)
        return "".join(out)


class _Finder(cst.CSTVisitor):
    """Records the edits of every newer construct; string groups are decided afterwards."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, text: _Text) -> None:
        super().__init__()
        self.text = text
        self.groups: List[Tuple[int, cst.BaseExpression]] = []  # (depth, outermost string)
        self._in_group: set = set()
        self._depth = 0

    def _range(self, node: cst.CSTNode) -> Tuple[Position, Position]:
        code = self.get_metadata(PositionProvider, node)
        return (code.start.line, code.start.column), (code.end.line, code.end.column)

    def _blank_region(self, node: cst.CSTNode) -> None:
        start, end = self._range(node)
        self.text.blank(start, end)
        self.text.continue_lines(start, end)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._depth += 1
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._depth -= 1
        super().on_leave(original_node)

    # 3.12 / 3.13: type parameters, `type` statements
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.type_parameters is not None:
            self._blank_region(node.type_parameters)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if node.type_parameters is not None:
            self._blank_region(node.type_parameters)

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        (line, column), _ = self._range(node)
        if self.text.char((line, column + 4)) in (" ", "\t", "\x0c"):
            self.text.set((line, column + 4), "=")  # `type=X = v`
        if node.type_parameters is not None:
            self._blank_region(node.type_parameters)

    # 3.14: `except A, B:`
    def _handler(self, node: cst.CSTNode) -> None:
        kind = getattr(node, "type", None)
        if isinstance(kind, cst.Tuple) and not kind.lpar:
            last = len(kind.elements) - 1
            for index, element in enumerate(kind.elements):
                if isinstance(element.comma, cst.Comma):
                    start, _ = self._range(element.comma)
                    self.text.set(start, "|" if index < last else " ")

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._handler(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._handler(node)

    # 3.15: lazy imports, unpacking in comprehensions
    def _lazy(self, node: cst.CSTNode) -> None:
        (line, column), _ = self._range(node)
        if self.text.char((line, column + 4)) in (" ", "\t", "\x0c"):
            self.text.set((line, column + 4), ";")  # `lazy;import x`

    def visit_LazyImport(self, node: cst.CSTNode) -> None:
        self._lazy(node)

    def visit_LazyImportFrom(self, node: cst.CSTNode) -> None:
        self._lazy(node)

    def _stars(self, node: cst.CSTNode, skip: str) -> None:
        """Blank the ``*`` / ``**`` that starts ``node`` (after its brackets in ``skip``)."""
        (line, column), _ = self._range(node)
        while self.text.char((line, column)) in skip + "* \t" and self.text.char((line, column)):
            if self.text.char((line, column)) == "*":
                self.text.set((line, column), " ")
            column += 1

    def _comprehension(self, element: cst.CSTNode) -> None:
        if isinstance(element, cst.StarredElement):
            self._stars(element, "(")

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node.elt)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comprehension(node.elt)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node.elt)

    def visit_StarredDictComp(self, node: cst.CSTNode) -> None:
        self._stars(node, "({")  # `{**d for d in ds}` -> `{  d for d in ds}`

    # strings: t-strings, and 3.12 f-strings (decided in _strings)
    def _string(self, node: cst.BaseExpression) -> None:
        if node in self._in_group:
            return
        self._in_group.update(_members(node))
        if any(
            isinstance(part, (cst.FormattedString, cst.TemplatedString)) for part in _members(node)
        ):
            self.groups.append((self._depth, node))
        for part in _members(node):
            if isinstance(part, cst.TemplatedString):
                start, _ = self._range(part)
                index = part.start.lower().index("t")
                self.text.set(
                    (start[0], start[1] + index), "f" if part.start[index] == "t" else "F"
                )

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._string(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._string(node)

    def visit_TemplatedString(self, node: cst.TemplatedString) -> None:
        self._string(node)


def _members(node: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The string literals of a (possibly concatenated) string, and the concatenations."""
    if isinstance(node, cst.ConcatenatedString):
        return [node, *_members(node.left), *_members(node.right)]
    return [node]


def _fields(parts: Sequence[cst.CSTNode]) -> Iterable[cst.BaseExpression]:
    """The replacement-field expressions of an f-/t-string's parts, format specs included."""
    for part in parts:
        if isinstance(part, (cst.FormattedStringExpression, cst.TemplatedStringExpression)):
            yield part.expression
            yield from _fields(part.format_spec or ())


def _strings(finder: _Finder, wrapper: MetadataWrapper) -> None:
    """Each string group the running Python cannot read (after t -> f) becomes the tuple of its
    replacement fields; innermost first, so an outer group is tested with its inner ones done."""
    text = finder.text
    positions = wrapper.resolve(PositionProvider)

    def span(node: cst.CSTNode) -> Tuple[Position, Position]:
        code = positions[node]
        return (code.start.line, code.start.column), (code.end.line, code.end.column)

    for _, group in sorted(finder.groups, key=lambda item: -item[0]):
        start, end = span(group)
        try:
            ast.parse("(" + text.render(start, end) + "\n)", mode="eval")
            continue
        except (SyntaxError, ValueError):
            pass
        keep = [
            span(expression)
            for part in _members(group)
            if isinstance(part, (cst.FormattedString, cst.TemplatedString))
            for expression in _fields(part.parts)
        ]
        text.blank(start, end, keep)
        last = (end[0], end[1] - 1)
        for _, field_end in keep:
            for position in text.positions(field_end, last):
                if text.char(position) not in "\r\n" and not any(
                    a <= position < b for a, b in keep
                ):
                    text.set(position, ",")
                    break
        text.set(start, "(")
        text.set(last, ")")


def equivalent_text(
    source: Union[str, bytes],
) -> Tuple[Optional[str], Optional[Tuple[int, int, str]]]:
    """A text the running ``ast`` parses, with the tokens of ``source`` that matter at their
    lines and UTF-8 columns; or (None, why libcst's parser failed: line, column from 1, and
    its message), or (None, None) for undecodable bytes."""
    try:
        text = source if isinstance(source, str) else decode_source(source)
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        message = re.sub(r"^parser error: (error at \d+:\d+: )?", "", error.message)
        return None, (error.raw_line, error.raw_column + 1, message)
    except Exception:  # an unknown encoding, undecodable bytes
        return None, None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Finder(_Text(text))
    wrapper.visit(finder)
    _strings(finder, wrapper)
    return finder.text.render(), None
