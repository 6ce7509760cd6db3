"""Which functions dependency_close can act on, judged on the ``ast`` in the first pass as
DependencyClose._plan judges them on libcst's tree, so that every other file stays out of libcst.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from .astwalk import dotted_name, own_nodes, walk
from .dependency_facts import (
    CONTEXT_MANAGERS,
    FINALIZERS,
    KNOWN_RELEASES,
    absolute_names,
    class_release,
    modules_of,
)
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
    tree: ast.Module,
    source: bytes,
    imported: Iterable[Import],
    lookups: Optional[List[str]] = None,
) -> Tuple[bool, Tuple[str, ...]]:
    """has_yield_site, split by what else the codemod requires of the function: (whether a
    ``@contextmanager`` generator has a site, the qualified names of the module-level functions
    and methods that have one, which act only if the project uses them as dependencies).
    A decorator counts as ``contextmanager`` when an import of the file can make it one.
    A generator that is no dependency acts only on a resource whose release is known: where
    that depends on the project's classes and session factories, the names its creating call
    may stand for (FileNames' raw form) go to ``lookups`` (without it: counted as a site), and
    :func:`releases_known` decides once the project is combined."""
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
        if not managed and any(_may_be_manager(d, paths, star) for d in node.decorator_list):
            callees = _acts_on(node, dependency=False)
            if callees is True or (callees and (star or lookups is None)):
                managed = True
            elif callees:
                names = _raw_names(callees, paths)
                if names is None or not KNOWN_RELEASES.keys().isdisjoint(names):
                    managed = True
                else:
                    lookups.extend(name for name in names if name not in lookups)
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


def _acts_on(function: ast.AST, dependency: bool = True) -> Union[bool, List[ast.Call]]:
    """The ``ast`` side of DependencyClose._plan: False only where it returns None without a
    report (a superset of the functions it acts on). For a function that is no dependency
    (``dependency=False``: a ``@contextmanager`` generator), where only the release the
    creating call's object needs can make it act (_fix, _release_of: an unknown object is left
    alone there), the candidate creating calls instead of True."""
    if sum(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_nodes(function)) != 1:
        return False  # leave_FunctionDef: `scan_calls(body).yields != 1`
    body = function.body
    for site, statement in enumerate(body):
        name = _yielded_name(statement)
        if name is not None:
            if dependency:
                return name in _created_names(body[:site])
            creations = _creations(body[:site], name)
            return bool(creations) and (_used_after(body[site + 1 :], name) or creations)
        if not isinstance(statement, ast.Try):
            continue
        name = next(filter(None, map(_yielded_name, statement.body)), None)
        if name is None:
            continue
        if dependency and any(not _raises(handler) for handler in statement.handlers):
            return True  # DEP002, for a dependency
        if _released_in(statement.finalbody, name):
            return False
        if dependency:
            return name in _created_names(body[:site]) | _created_names(statement.body)
        # Created before the try (then a use after the yield acts too), or else inside it
        # (reported only for a known release): libcst's matches are among ast's, so both.
        creations = _creations(body[:site], name) + _creations(statement.body, name)
        if not creations:
            return False
        position = next(i for i, s in enumerate(statement.body) if _yielded_name(s) == name)
        rest = [*statement.body[position + 1 :], *statement.handlers, *statement.orelse]
        return _used_after([*rest, *body[site + 1 :]], name) or creations
    return False


def _creations(statements: Sequence[ast.stmt], name: str) -> List[ast.Call]:
    """The calls of every ``name = <call>`` / ``name = await <call>`` among ``statements``
    (DependencyClose._creation takes the last one libcst matches: one of these)."""
    calls = []
    for statement in statements:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == name
        ):
            value = statement.value
            value = value.value if isinstance(value, ast.Await) else value
            if isinstance(value, ast.Call):
                calls.append(value)
    return calls


def _used_after(nodes: Sequence[ast.AST], name: str) -> bool:
    """A call in the own code of ``nodes`` (statements, except handlers) that may release
    ``name`` (dependency_edit.uses_name): _fix moves it into ``finally`` or reports it. Without
    one, only the release the creating call's object needs decides."""
    stack = [node for node in nodes if not isinstance(node, _SCOPES)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call) and _uses(node, name):
            return True
        stack.extend(
            child for child in ast.iter_child_nodes(node) if not isinstance(child, _SCOPES)
        )
    return False


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _uses(node: ast.Call, name: str) -> bool:
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


def _raw_names(calls: Sequence[ast.Call], paths: Mapping[str, Set[str]]) -> Optional[List[str]]:
    """Every name (FileNames' raw form: ``a.b``, ``.a.b``, ``:name``) the callees of ``calls``
    may stand for, whatever import or binding of the file libcst finds for them; None when a
    callee is no dotted name."""
    names: List[str] = []
    for call in calls:
        dotted = _full_name(call.func)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        found = [f"{path}.{rest}" if rest else path for path in sorted(paths.get(head, ()))]
        found.append(":" + dotted)
        if hasattr(builtins, head):
            found.append(f"builtins.{head}")  # libcst's BuiltinAssignment: the name alone
        names.extend(name for name in found if name not in names)
    return names


def _full_name(node: ast.AST) -> Optional[str]:
    """The dotted name libcst's get_full_name_for_node gives the callee (through calls and
    subscripts: ``Path(p).resolve`` is ``Path.resolve``); None where it has none."""
    parts: List[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return None


def releases_known(names: Iterable[str], path: str, root: str, facts: Mapping[str, Any]) -> bool:
    """Whether one of ``names`` (yield_sites' lookups for file ``path``), through the project's
    re-exports, is an object whose release DependencyClose._known_release knows: a table
    entry, a session factory, a project class with a close (its own or a base's)."""
    modules = modules_of(path, root)
    package = os.path.basename(path) == "__init__.py"
    aliases = facts["aliases"]
    for raw in names:
        for name in absolute_names(raw, modules, package):
            for _ in range(8):  # re-export chains, as ReleaseLookup._names_of follows them
                if name in KNOWN_RELEASES or facts["factories"].get(name) in ("sync", "async"):
                    return True
                if name in facts["classes"] and isinstance(
                    class_release(facts, name, False, set()), tuple
                ):
                    return True
                if name not in aliases:
                    break
                name = aliases[name]
    return False


def _raises(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(n, ast.Raise) for n in own_nodes(handler))


def _released_in(statements: Sequence[ast.stmt], name: str) -> bool:
    """A call in ``statements`` (their own code) that may release ``name``: ``name.close()``
    and the other FINALIZERS, or ``f(..., name, ...)`` (dependency_edit.uses_name)."""
    return any(
        isinstance(node, ast.Call) and _uses(node, name) for node in own_nodes(_Block(statements))
    )


class _Block:
    """Statements with the ``body`` own_nodes walks."""

    def __init__(self, body: Sequence[ast.stmt]) -> None:
        self.body = list(body)
