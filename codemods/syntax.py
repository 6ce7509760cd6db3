"""Syntax newer than the running interpreter, for the first pass (facts come from ``ast``).

libcst parses the grammar of newer Pythons (3.12 type parameters and ``type`` statements,
3.12 f-strings, 3.13 type parameter defaults, 3.14 t-strings and unparenthesized ``except``
tuples, 3.15 ``lazy`` imports and unpacking in comprehensions). For a file the running ``ast``
rejects, :func:`newer_tree` makes from libcst's tree (newer_text.py) an equivalent text the running ``ast`` can
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
from typing import List, Optional, Sequence, Tuple, Union

from .results import NOT_ANALYSED


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
    lines = source_lines(text)
    if not line or line > len(lines):
        return None
    source_line = lines[line - 1]
    for version, what, pattern in _LINE_PATTERNS:
        if sys.version_info[:2] < version and pattern.search(source_line):
            wanted = f"{version[0]}.{version[1]}"
            return f"needs Python >= {wanted} ({what} at line {line}; this is Python {_running()})"
    return None


# -- the equivalent text ----------------------------------------------------------------------


def source_lines(text: str) -> List[str]:
    """Lines with their endings, split where Python's tokenizer splits (not at form feeds)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def decode_source(source: bytes) -> str:
    encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    return source.decode(encoding)


def parse(source: Union[str, bytes]) -> ast.Module:
    """``ast.parse`` that also reads syntax newer than this Python (the tree of the equivalent
    text): for codemods that parse their file again in the rewrite pass. Raises SyntaxError
    (Python's own) when neither can parse it."""
    try:
        return ast.parse(source)
    except SyntaxError:
        from . import newer_text  # libcst: only for a file the running ast rejects

        text, _ = newer_text.equivalent_text(source)
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
    from . import newer_text  # libcst: only for a file the running ast rejects

    text, failed = newer_text.equivalent_text(source)
    if text is not None:
        try:
            return ast.parse(text), reason
        except (SyntaxError, ValueError):
            pass
    try:
        decoded = decode_source(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None, reason
    newer = newer_construct(decoded, failed[0] if failed else line)
    if newer is not None:
        return None, NOT_ANALYSED + newer
    if failed is not None and failed[0] != line and newer_construct(decoded, line):
        # libcst's position is where its parser gave up: near the error, not always on it
        return None, f"syntax error at line {failed[0]}, column {failed[1]}: {failed[2]}"
    return None, reason
