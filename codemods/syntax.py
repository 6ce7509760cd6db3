"""Syntax newer than the running interpreter, for the first pass (facts come from ``ast``).

libcst parses the grammar of newer Pythons (3.12 type parameters and ``type`` statements,
3.12 f-strings, 3.13 type parameter defaults, 3.14 t-strings and unparenthesized ``except``
tuples, 3.15 ``lazy`` imports and unpacking in comprehensions). For a file the running ``ast``
rejects, :func:`newer_tree` makes from libcst's tree an equivalent text the running ``ast`` can
parse, with every token that is kept at the same line and UTF-8 byte column as in the file:

- type parameter brackets ``[T: int = str]`` become spaces (a ``\\`` ends each line they span);
- ``type X[T] = v`` becomes ``type=X   = v`` (a chained assignment; ``X`` and ``v`` stay put);
- ``except A, B:`` becomes ``except A| B:``;
- ``lazy import x`` becomes ``lazy;import x``; ``[*a for a in b]`` becomes ``[ a for a in b]``;
- a t-string becomes the f-string of the same text (``t`` -> ``f``); a string (group) the
  running Python still cannot read (3.12 f-strings: nested quotes, backslashes, comments,
  newlines in replacement fields) becomes a tuple of its replacement fields:
  ``f"{"a"} {x!r:>{w}}"`` -> ``(  "a",  x,   w,  )``.

The facts gathered from that tree are the file's facts: calls, definitions and coroutines
are where they are in the file. When nothing can parse a file, :func:`newer_tree` names the
newer construct on the line of the error, if there is one: the file is then reported as not
analysed (a notice, not a failure) instead of as a syntax error.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .results import NOT_ANALYSED

Position = Tuple[int, int]  # libcst's (line from 1, column in characters from 0)


def _running() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


# -- constructs newer than the running Python, found on the line of the error ------------------

_LINE_PATTERNS: Sequence[Tuple[Tuple[int, int], str, "re.Pattern[str]"]] = (
    ((3, 14), "a t-string", re.compile(r"(?<![\w'\"])(?:[tT][rR]?|[rR][tT])(?:'|\")")),
    (
        (3, 14),
        "`except` with an unparenthesized tuple",
        re.compile(r"^\s*except\s*\*?\s*[^\s(:][^:]*,"),
    ),
    ((3, 12), "type parameters", re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+\s*\[")),
    ((3, 12), "a `type` statement", re.compile(r"^\s*type\s+\w+\s*(?:\[|=)")),
    ((3, 15), "a `lazy` import", re.compile(r"^\s*lazy\s+(?:import|from)\s")),
)


def newer_construct(text: str, line: Optional[int]) -> Optional[str]:
    """``needs Python >= X.Y (...)`` when line ``line`` of ``text`` has syntax newer than the
    running Python; None otherwise."""
    lines = _lines(text)
    if not line or line > len(lines):
        return None
    source_line = lines[line - 1]
    for version, what, pattern in _LINE_PATTERNS:
        if sys.version_info[:2] < version and pattern.search(source_line):
            wanted = f"{version[0]}.{version[1]}"
            return f"needs Python >= {wanted} ({what} at line {line}; this is Python {_running()})"
    return None


# -- the equivalent text ----------------------------------------------------------------------


def _lines(text: str) -> List[str]:
    """Lines with their endings, split where Python's tokenizer splits (not at form feeds)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _width(char: str) -> str:
    """Blank for ``char``: as many spaces as its UTF-8 bytes (ast columns are bytes)."""
    if char in "\r\n":
        return char
    return " " * len(char.encode("utf-8", "surrogatepass"))


class _Text:
    """The file's characters, each replaceable by a string of the same UTF-8 length."""

    def __init__(self, text: str) -> None:
        self.lines = _lines(text)
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


def _decode(source: bytes) -> str:
    encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    return source.decode(encoding)


def equivalent_text(
    source: Union[str, bytes],
) -> Tuple[Optional[str], Optional[Tuple[int, int, str]]]:
    """A text the running ``ast`` parses, with the tokens of ``source`` that matter at their
    lines and UTF-8 columns; or (None, why libcst's parser failed: line, column from 1, and
    its message), or (None, None) for undecodable bytes."""
    try:
        text = source if isinstance(source, str) else _decode(source)
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


def parse(source: Union[str, bytes]) -> ast.Module:
    """``ast.parse`` that also reads syntax newer than this Python (the tree of the equivalent
    text): for codemods that parse their file again in the rewrite pass. Raises SyntaxError
    (Python's own) when neither can parse it."""
    try:
        return ast.parse(source)
    except SyntaxError:
        text, _ = equivalent_text(source)
        if text is None:
            raise
        try:
            return ast.parse(text)
        except SyntaxError:
            pass
        raise


def newer_tree(source: bytes, reason: str) -> Tuple[Optional[ast.Module], str]:
    """For a file the running ``ast`` rejected with ``reason``: its tree from the equivalent
    text, or why not. That is ``not analysed: needs Python >= X.Y (...)`` when a construct
    newer than this Python is on the line of the error (libcst's error when libcst fails too,
    as it knows the newer grammar), else a syntax error: ``reason``, or where libcst failed
    when that is elsewhere (the running Python stops at the newer construct before it)."""
    try:
        ast.parse(source)
        line: Optional[int] = None
    except SyntaxError as error:
        line = error.lineno
    except (ValueError, UnicodeDecodeError):  # NUL bytes, undecodable: not a grammar matter
        return None, reason
    text, failed = equivalent_text(source)
    if text is not None:
        try:
            return ast.parse(text), reason
        except (SyntaxError, ValueError):
            pass
    try:
        decoded = _decode(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None, reason
    newer = newer_construct(decoded, failed[0] if failed else line)
    if newer is not None:
        return None, NOT_ANALYSED + newer
    if failed is not None and failed[0] != line and newer_construct(decoded, line):
        # libcst's position is where its parser gave up: near the error, not always on it
        return None, f"syntax error at line {failed[0]}, column {failed[1]}: {failed[2]}"
    return None, reason
