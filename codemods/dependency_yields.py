"""Which functions dependency_close can act on, judged on the ``ast`` in the first pass as
DependencyClose._plan judges them on libcst's tree, so that every other file stays out of libcst.
"""

from __future__ import annotations

import ast
import re
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from .astwalk import dotted_name, own_nodes, walk
from .dependency_facts import CONTEXT_MANAGERS, FINALIZERS
from .program_facts import Import, import_paths


def _yielded_name(statement: ast.stmt) -> Optional[str]:
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Yield)
        and isinstance(statement.value.value, ast.Name)
    ):
        return statement.value.value.id
    return None


def _created_names(statements: Sequence[ast.stmt]) -> Set[str]:
    return {
        statement.targets[0].id
        for statement in statements
        if isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, (ast.Call, ast.Await))
    }


def has_yield_site(tree: ast.Module) -> bool:
    """A function the codemod can act on (rewrite or report), judged on the ``ast`` as
    DependencyClose._plan judges it on libcst's tree, so that every other file stays out of
    libcst: one yield in its own body; the first statement that yields a name (bare, or directly
    in a ``try``); a ``try`` handler that never raises (DEP002); else the yielded name created
    by a call before it (or in the ``try``), and not already released in the ``finally``."""
    return any(
        _acts_on(node)
        for node in walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )


def yield_sites(
    tree: ast.Module, source: bytes, imported: Iterable[Import]
) -> Tuple[bool, Tuple[str, ...]]:
    """has_yield_site, split by what else the codemod requires of the function: (whether a
    ``@contextmanager`` generator has a site, the qualified names of the module-level functions
    and methods that have one, which act only if the project uses them as dependencies).
    A decorator counts as ``contextmanager`` when an import of the file can make it one."""
    lines = _yield_lines(source)
    if not lines:
        return False, ()
    paths = import_paths(imported)
    star = any(entry.name == "*" for entry in imported)
    top: Dict[int, str] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top[id(statement)] = statement.name
        elif isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    top[id(item)] = f"{statement.name}.{item.name}"
    managed, dependencies = False, []
    for node in _statement_defs(tree.body):
        end = node.end_lineno or node.lineno
        if not any(node.lineno <= line <= end for line in lines) or not _acts_on(node):
            continue
        if any(_may_be_manager(d, paths, star) for d in node.decorator_list):
            managed = True
        if id(node) in top:
            dependencies.append(top[id(node)])
    return managed, tuple(sorted(set(dependencies)))


def _may_be_manager(decorator: ast.expr, paths: Mapping[str, Set[str]], star: bool) -> bool:
    """Whether the decorator can be ``contextlib.(async)contextmanager`` (imported_name)."""
    dotted = dotted_name(decorator)
    if dotted is None:
        return False
    head, _, rest = dotted.partition(".")
    if star and not rest:
        return True
    return any(
        (f"{base}.{rest}" if rest else base) in CONTEXT_MANAGERS for base in paths.get(head, ())
    )


def _yield_lines(source: bytes) -> List[int]:
    """The lines (counted as ``ast`` counts them) on which the text ``yield`` stands."""
    if b"\r" in source:  # ast ends a line at \r\n, \n or \r
        source = source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines, line, start = [], 1, 0
    for match in _YIELD.finditer(source):
        line += source.count(b"\n", start, match.start())
        start = match.start()
        lines.append(line)
    return lines


_YIELD = re.compile(rb"yield")


def _statement_defs(statements: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """Every def among ``statements`` and the statements nested in them (a def is never part
    of an expression, so expressions are not walked)."""
    stack = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(child for child in children if isinstance(child, ast.AST))


def _acts_on(function: ast.AST) -> bool:
    """The ``ast`` side of DependencyClose._plan: False only where it returns None without a
    report (a superset of the functions it acts on)."""
    if sum(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_nodes(function)) != 1:
        return False  # leave_FunctionDef: `scan_calls(body).yields != 1`
    body = function.body
    for site, statement in enumerate(body):
        name = _yielded_name(statement)
        if name is not None:
            return name in _created_names(body[:site])
        if not isinstance(statement, ast.Try):
            continue
        name = next(filter(None, map(_yielded_name, statement.body)), None)
        if name is None:
            continue
        if any(not _raises(handler) for handler in statement.handlers):
            return True  # DEP002, for a dependency
        if _released_in(statement.finalbody, name):
            return False
        return name in _created_names(body[:site]) | _created_names(statement.body)
    return False


def _raises(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(n, ast.Raise) for n in own_nodes(handler))


def _released_in(statements: Sequence[ast.stmt], name: str) -> bool:
    """A call in ``statements`` (their own code) that may release ``name``: ``name.close()``
    and the other FINALIZERS, or ``f(..., name, ...)`` (dependency_edit.uses_name)."""
    for node in own_nodes(_Block(statements)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == name
            and func.attr in FINALIZERS
        ):
            return True
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            if isinstance(argument, ast.Starred):
                argument = argument.value
            if isinstance(argument, ast.Name) and argument.id == name:
                return True
    return False


class _Block:
    """Statements with the ``body`` own_nodes walks."""

    def __init__(self, body: Sequence[ast.stmt]) -> None:
        self.body = list(body)
