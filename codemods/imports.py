"""Where a new import goes: the place the project's isort (or ruff's isort rules) would put it.

The codemods add imports with libcst's ``AddImportsVisitor``, which appends them after the last
import of the module. Reviewers run isort / ruff ``I001``: an ``import asyncio`` under the
project's own imports fails their lint. After the codemods of a file ran, each import statement
they added at the head of the module moves to its section (future, standard library, third
party, first party, local) and, inside it, to its sorted place: plain ``import x`` before
``from x import y`` (isort's and ruff's default; ``force-sort-within-sections`` sorts them
together), by module name, case-insensitively. Lines that were there before never move: when the
existing imports are not sorted, the new one goes before the first line that sorts after it. A
section the module does not have yet gets a block of its own, one blank line from its
neighbours.

Known first-party modules: ``known-first-party`` of ``[tool.isort]`` / ``[tool.ruff.lint.isort]``
/ ``[tool.ruff.isort]``, and any top-level module or package on the project's import roots or in
the file's own folder (resolve.py).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Tuple

from . import resolve

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)


@dataclass(frozen=True)
class Style:
    known_first_party: FrozenSet[str] = frozenset()
    force_sort_within_sections: bool = False


def style_from(pyproject: Dict[str, Any]) -> Style:
    """The isort settings asyncfix follows, from a parsed pyproject.toml."""
    tool = pyproject.get("tool", {})
    ruff = tool.get("ruff", {})
    tables = [tool.get("isort", {}), ruff.get("lint", {}).get("isort", {}), ruff.get("isort", {})]
    known: set = set()
    force = False
    for table in tables:
        for key in ("known-first-party", "known_first_party"):
            known.update(table.get(key, ()))
        for key in ("force-sort-within-sections", "force_sort_within_sections"):
            force = force or bool(table.get(key, False))
    return Style(frozenset(known), force)


@lru_cache(maxsize=None)
def _project_has(base: str, top: str) -> bool:
    return os.path.isfile(os.path.join(base, f"{top}.py")) or os.path.isdir(os.path.join(base, top))


def _section(node: ast.stmt, filename: str, root: str, style: Style) -> int:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return LOCAL
        module = node.module or ""
    else:
        module = node.names[0].name
    top = module.split(".")[0]
    if top == "__future__":
        return FUTURE
    if top in style.known_first_party:
        return FIRST_PARTY
    bases = [*resolve.import_roots(root), os.path.dirname(os.path.abspath(filename))]
    if any(_project_has(base, top) for base in bases):
        return FIRST_PARTY
    if top in resolve._STDLIB:
        return STDLIB
    return THIRD_PARTY


def _key(node: ast.stmt, style: Style) -> Tuple[int, str]:
    if isinstance(node, ast.ImportFrom):
        name = "." * node.level + (node.module or "")
        kind = 0 if style.force_sort_within_sections else 1
    else:
        name, kind = node.names[0].name, 0
    return kind, name.lower()


def _name_key(name: str) -> Tuple[int, str]:
    """isort's / ruff's ``order-by-type``: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name.lower()


def _head(tree: ast.Module) -> List[ast.stmt]:
    """The import statements at the head of a module (after its docstring)."""
    body = tree.body
    start = (
        1
        if body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
        else 0
    )
    head = []
    for node in body[start:]:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        head.append(node)
    return head


def _module(node: ast.stmt) -> str:
    if isinstance(node, ast.ImportFrom):
        return "." * node.level + (node.module or "")
    return node.names[0].name  # type: ignore[attr-defined]


def _text(lines: List[str], node: ast.stmt) -> str:
    return "".join(lines[node.lineno - 1 : node.end_lineno])


def place(old: str, new: str, filename: str, root: str, style: Style) -> str:
    """``new`` with the import statements it added at the module head moved to their isort
    place; ``new`` itself when there is nothing to move or anything is unclear."""
    try:
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    except (SyntaxError, ValueError):
        return new
    lines = new.splitlines(keepends=True)
    before = {_text(old.splitlines(keepends=True), n).strip() for n in _head(old_tree)}
    head = _head(new_tree)
    old_modules = {(n.module, n.level) for n in _head(old_tree) if isinstance(n, ast.ImportFrom)}
    for node in head:  # names asyncfix added to an existing `from m import ...` line: in order
        line = _text(lines, node)
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module, node.level) in old_modules
            and line.strip() not in before
            and node.lineno == node.end_lineno
            and "#" not in line
            and "(" not in line
        ):
            names = sorted(node.names, key=lambda a: _name_key(a.name))
            text = ", ".join(a.name if not a.asname else f"{a.name} as {a.asname}" for a in names)
            prefix = line[: line.index(" import ") + len(" import ")]
            lines[node.lineno - 1] = prefix + text + line[len(line.rstrip("\r\n")) :]
    new = "".join(lines)
    # An old `from m import ...` line asyncfix rewrote in place (names added or taken out)
    # stays where it is: moving it would leave its old place's blank lines behind.
    added = [
        n
        for n in head
        if _text(lines, n).strip() not in before
        and n.lineno == n.end_lineno
        and not (isinstance(n, ast.Import) and len(n.names) != 1)
        and not (isinstance(n, ast.ImportFrom) and (n.module, n.level) in old_modules)
    ]
    if not added:
        return new
    if len(added) == len(head):  # no import was kept: sort the new block, space it
        first, last = head[0].lineno - 1, head[-1].end_lineno
        rewritten = {_module(n) for n in _head(old_tree)} & {_module(n) for n in head}
        # one line each, no gaps, and none of them an old line rewritten in place
        if last - first == len(head) and not rewritten:
            ordered = sorted(
                head, key=lambda n: (_section(n, filename, root, style), _key(n, style))
            )
            block: List[str] = []
            for index, node in enumerate(ordered):
                section = _section(node, filename, root, style)
                if index and section != _section(ordered[index - 1], filename, root, style):
                    block.append("\n")
                block.append(_text(lines, node))
            lines[first:last] = block
            new = "".join(lines)
            new_tree = ast.parse(new)
            head = _head(new_tree)
        return _spaced(new, head[-1].end_lineno, new_tree) if not _head(old_tree) else new
    # Take the added lines out, then put each one back where isort would.
    for node in sorted(added, key=lambda n: n.lineno, reverse=True):
        del lines[node.lineno - 1]
    kept = [n for n in head if n not in added]
    shift = {id(n): sum(1 for a in added if a.lineno < n.lineno) for n in kept}
    # (first line, last line) of each kept statement in the shortened text, 0-based
    spans = {id(n): (n.lineno - 1 - shift[id(n)], n.end_lineno - 1 - shift[id(n)]) for n in kept}
    # (index in the shortened text, how: 0 into a section / 1 a new block before / 2 after)
    groups: Dict[Tuple[int, int], List[Tuple[Tuple[int, str], str]]] = {}
    for node in added:
        text = _text(new.splitlines(keepends=True), node)
        section = _section(node, filename, root, style)
        key = _key(node, style)
        same = [n for n in kept if _section(n, filename, root, style) == section]
        after = [n for n in kept if _section(n, filename, root, style) > section]
        if same:
            later = [n for n in same if _key(n, style) > key]
            where = (spans[id(later[0])][0], 0) if later else (spans[id(same[-1])][1] + 1, 0)
        elif after:
            where = (spans[id(after[0])][0], 1)
        else:
            where = (spans[id(kept[-1])][1] + 1, 2)
        groups.setdefault(where, []).append((section, key, text))
    # Inserted last is first: at one index, a new block after (2), then the section's own
    # lines (0), then a new block before them (1) end up in the order 1, 0, 2.
    order = {2: 0, 0: 1, 1: 2}
    for (index, how), members in sorted(groups.items(), key=lambda g: (-g[0][0], order[g[0][1]])):
        members.sort()
        # A new block may hold several sections (stdlib and third-party imports where the
        # only import of the module was replaced): a blank line between them.
        block = "".join(
            ("\n" if number and section != members[number - 1][0] else "") + text
            for number, (section, _, text) in enumerate(members)
        )
        block = block + "\n" if how == 1 else "\n" + block if how == 2 else block
        lines.insert(index, block)
    result = _tidy(old, "".join(lines))
    try:
        ast.parse(result)
    except SyntaxError:
        return new
    return result


def _tidy(old: str, new: str) -> str:
    """The blank lines a replaced import block leaves behind: ``new``'s head starts after as
    many blank lines as ``old``'s did, and has no run of blank lines ``old``'s head had not."""
    try:
        old_head, new_head = _head(ast.parse(old)), _head(ast.parse(new))
    except SyntaxError:
        return new
    if not old_head or not new_head:
        return new
    old_lines, lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    first, last = new_head[0].lineno - 1, new_head[-1].end_lineno
    region = lines[first:last]
    old_region = old_lines[old_head[0].lineno - 1 : old_head[-1].end_lineno]
    if not any(not a.strip() and not b.strip() for a, b in zip(old_region, old_region[1:])):
        region = [
            line
            for number, line in enumerate(region)
            if line.strip() or number == 0 or region[number - 1].strip()
        ]
    prefix, old_prefix = lines[:first], old_lines[: old_head[0].lineno - 1]
    if prefix != old_prefix and [x for x in prefix if x.strip()] == [
        x for x in old_prefix if x.strip()
    ]:
        prefix = old_prefix
    return "".join([*prefix, *region, *lines[last:]])


def _spaced(text: str, last_line: int, tree: ast.Module) -> str:
    """Two blank lines between the import block and a ``def``/``class`` right after it, as
    isort and ruff want (``lines-after-imports``), when asyncfix wrote the whole block (the
    module had no imports); a spacing the project chose is left as it is."""
    following = [n for n in tree.body if n.lineno > last_line]
    if not following or not isinstance(
        following[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return text
    lines = text.splitlines(keepends=True)
    nxt = following[0]
    first = min([nxt.lineno, *(d.lineno for d in nxt.decorator_list)])
    gap = lines[last_line : first - 1]
    if len(gap) == 1 and not gap[0].strip():
        lines.insert(last_line, gap[0])
    return "".join(lines)
