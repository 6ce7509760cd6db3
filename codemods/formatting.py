"""Formatting only the lines asyncfix changed, with black's line ranges.

Lines asyncfix did not touch never change; the touched ones are formatted with the project's
own ``[tool.black]`` settings, so generated code (a new ``async with`` block, a long ``await``
line) looks like the rest of the file. A file black cannot format keeps asyncfix's own output,
which is already valid code.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

import black

from . import linediff

_IMPORT_LINE = re.compile(r"(import|from)\s")
_TAB_INDENT = re.compile(r"^ *\t", re.MULTILINE)
_CLASS_BLANK = re.compile(r"^([ \t]*class\b[^\n]*:[ \t]*(?:#[^\n]*)?\n)\n", re.MULTILINE)


_MODES: Dict[str, black.Mode] = {}


def mode_for(table: Mapping[str, Any]) -> black.Mode:
    """The black.Mode of a ``[tool.black]`` table, made once per process: the rewrite makes it
    when it first formats a file, so a run that formats nothing never imports black."""
    key = repr(sorted(table.items()))
    if key not in _MODES:
        _MODES[key] = black_mode(dict(table))
    return _MODES[key]


def black_mode(options: Optional[Dict[str, Any]]) -> black.Mode:
    options = options or {}
    target_versions = {
        black.TargetVersion[str(version).upper()] for version in options.get("target_version", [])
    }
    return black.Mode(
        target_versions=target_versions,
        line_length=int(options.get("line_length", black.DEFAULT_LINE_LENGTH)),
        string_normalization=not options.get("skip_string_normalization", False),
        magic_trailing_comma=not options.get("skip_magic_trailing_comma", False),
        preview=bool(options.get("preview", False)),
    )


def changed_lines(old: str, new: str) -> List[Tuple[int, int]]:
    """1-based inclusive line ranges of ``new`` that differ from ``old``, leaving out
    module-level import lines: libcst's import helpers already write those canonically, and
    black's line-range mode drops a blank line after an import line inside a range (so the
    untouched ``def`` below would lose its second blank line)."""
    # Lines as black counts them: split at "\n" only (str.splitlines also splits at form
    # feeds and other separators, which would point black at lines nobody changed).
    new_lines = new.split("\n")
    ranges: List[Tuple[int, int]] = []
    for tag, _, _, j1, j2 in linediff.opcodes(old.split("\n"), new_lines):
        if tag not in ("replace", "insert"):
            continue
        for index in range(j1, j2):
            if _IMPORT_LINE.match(new_lines[index]):
                continue
            if ranges and ranges[-1][1] == index:
                ranges[-1] = (ranges[-1][0], index + 1)
            else:
                ranges.append((index + 1, index + 1))
    return ranges


def format_changed(old: str, new: str, mode: black.Mode) -> Tuple[str, Optional[str]]:
    """``new`` with its changed lines formatted; the second item says why it was not."""
    ranges = changed_lines(old, new)
    if not ranges:
        return new, None
    crlf = new.count("\r\n")
    if _TAB_INDENT.search(new):
        # black re-indents whole blocks with spaces, so lines nobody changed would change too.
        return new, "not formatted: the file indents with tabs"
    if "\x0c" in new:
        # black moves form feeds and the blank lines around them, even outside the ranges.
        return new, "not formatted: the file contains form feeds"
    if "\r" in new.replace("\r\n", ""):
        return new, "not formatted: the file has mixed or old-Mac line endings"
    if crlf and crlf != new.count("\n"):
        return new, "not formatted: the file mixes CRLF and LF line endings"
    source = new.replace("\r\n", "\n") if crlf else new
    try:
        formatted = black.format_file_contents(source, fast=False, mode=mode, lines=ranges)
    except black.NothingChanged:
        return new, None
    except Exception as error:  # black's own parse or equivalence failure: keep our output
        return new, f"not formatted by black: {type(error).__name__}: {error}".splitlines()[0]
    formatted = _no_blank_after_class(source, formatted)
    if not source.endswith("\n") and formatted.endswith("\n"):
        formatted = formatted[:-1]  # black adds a final newline; the file had none
    if crlf:
        formatted = formatted.replace("\n", "\r\n")
    return formatted, None


def _no_blank_after_class(source: str, formatted: str) -> str:
    """black's line-range mode (24-26) puts a blank line between ``class X:`` and a changed first
    method, a line outside the ranges that whole-file black would not add: take it out again
    unless the class had it."""
    had = {match.group(1) for match in _CLASS_BLANK.finditer(source)}
    return _CLASS_BLANK.sub(
        lambda match: match.group(0) if match.group(1) in had else match.group(1), formatted
    )
