"""The big-file reduction: libcst sees only the top-level statements of a big file that can
change (the rest become one string statement per run of lines, or a stub), then the changes are
spliced back into the original text."""

from __future__ import annotations

import ast
import difflib
import re
from typing import List, Optional, Sequence, Set

from . import syntax
from .astwalk import walk
from .program_facts import ProjectIndex

# From this many lines on, a file whose codemods are all LOCAL is given to libcst reduced to the
# top-level statements that can change (see _Reduction): libcst's parse and metadata cost about
# a millisecond per line here, which the rest of a big file need not pay.
BIG_FILE_LINES = 2000


def blank(line: str) -> bool:
    """difflib junk: blank lines repeat thousands of times in a big file, which makes
    SequenceMatcher quadratic; as junk they still join matches but never start one."""
    return not line.strip()


class _Reduction:
    """A big file with every top-level ``def``/``class`` that cannot change taken out of
    libcst's sight without moving a line: a run of such statements becomes one multi-line string
    statement (one node, whatever its length) holding a unique marker per line, and a dropped
    def that the rest of the file names keeps a one-line stub (``def name(): ...``) so the name
    stays bound. Every line keeps its number and every kept statement its columns, so the first
    pass's positions, the opt-out comments and the diagnostics stay right. After the codemods,
    the changes are spliced back into the original text; a change that touches a stubbed line
    makes :meth:`splice` give up (the engine then parses the whole file)."""

    def __init__(self, text: str, tree: ast.Module, keep) -> None:
        self.lines = text.split("\n")
        self.stubbed: Set[int] = set()  # 0-based indexes of lines that are not the original
        spans = []  # (first, last, statement) of every def/class libcst need not see
        for statement in tree.body:
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = min([statement.lineno, *(d.lineno for d in statement.decorator_list)]) - 1
            last = (statement.end_lineno or statement.lineno) - 1
            spans.append((first, last, statement, keep(first + 1, last + 1)))
        dropped_lines = {
            i for first, last, _, kept in spans if not kept for i in range(first, last + 1)
        }
        # A dropped def keeps its name bound (a stub) only if the code libcst sees names it.
        seen = set(
            re.findall(
                r"\w+",
                "\n".join(
                    line for index, line in enumerate(self.lines) if index not in dropped_lines
                ),
            )
        )
        reduced = list(self.lines)
        run: List[int] = []  # first and last line of the string statement being built

        def close_run() -> None:
            if run:
                self._string(reduced, run[0], run[1])
                run.clear()

        previous_dropped = False
        for first, last, statement, kept in spans:
            if kept:
                close_run()
                previous_dropped = False
                continue
            if statement.name in seen:
                close_run()
                kind = "class" if isinstance(statement, ast.ClassDef) else "def"
                stub = (
                    f"class {statement.name}: ..."
                    if kind == "class"
                    else f"def {statement.name}(): ..."
                )
                ending = "\r" if self.lines[first].endswith("\r") else ""
                reduced[first] = stub + ending
                self.stubbed.add(first)
                if last > first:
                    self._string(reduced, first + 1, last)
                previous_dropped = False
                continue
            if run and previous_dropped:
                run[1] = last  # the lines between two dropped statements go in the string too
            else:
                close_run()
                run.extend((first, last))
            previous_dropped = True
        close_run()
        self.text = "\n".join(reduced)

    def _string(self, reduced: List[str], first: int, last: int) -> None:
        for index in range(first, last + 1):
            ending = "\r" if self.lines[index].endswith("\r") else ""
            marker = f"#{index + 1}"
            if index == first:
                marker = '"""' + marker
            if index == last:
                marker += '"""'
            reduced[index] = marker + ending
            self.stubbed.add(index)

    def splice(self, new_reduced: str) -> Optional[str]:
        old = self.text.split("\n")
        new = new_reduced.split("\n")
        out: List[str] = []
        matcher = difflib.SequenceMatcher(blank, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.extend(self.lines[i1:i2])
            elif any(index in self.stubbed for index in range(i1, i2)):
                return None
            else:
                out.extend(new[j1:j2])
        return "\n".join(out)


def _reduce(
    text: str, wanted: Sequence, project: ProjectIndex, filename: str
) -> Optional[_Reduction]:
    if text.count("\n") < BIG_FILE_LINES or not all(codemod.LOCAL for codemod in wanted):
        return None
    if "\r" in text.replace("\r\n", ""):
        return None  # old-Mac line endings: ast and str.split would count lines differently
    try:
        tree = syntax.parse(text)
    except (SyntaxError, ValueError):
        return None  # nothing parses it: libcst gets the whole file
    tokens = {token for codemod in wanted for token in codemod.reduction_tokens(filename, project)}
    lines = text.split("\n")
    # A module-level import that holds a token makes the names it binds tokens too:
    # `from httpx import AsyncClient` -> a def using `AsyncClient` is relevant.
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            chunk = "\n".join(lines[statement.lineno - 1 : statement.end_lineno])
            if any(token in chunk for token in tokens):
                tokens |= {
                    alias.asname or alias.name.split(".")[0]
                    for alias in statement.names
                    if alias.name != "*"
                }
    # So does a module-level assignment that holds one: `S = requests.Session()` -> a def
    # using `S` is relevant (second, so `from requests import Session` counts too).
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            chunk = "\n".join(lines[statement.lineno - 1 : statement.end_lineno])
            if any(token in chunk for token in tokens):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                tokens |= {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
    action_lines: Set[int] = set()
    for codemod in wanted:
        action_lines |= codemod.reduction_lines(filename, project)

    def keep(first: int, last: int) -> bool:
        if any(first <= line <= last for line in action_lines):
            return True
        chunk = "\n".join(lines[first - 1 : last])
        return any(token in chunk for token in tokens)

    return _Reduction(text, tree, keep)
