"""Test doubles that replace what the SQLAlchemy conversion renames: closure or nothing.

A test's ``patch("app.prestart.Session", return_value=session_mock)`` replaces the sync Session
where that module reads it, and configures the double for it (``__enter__``, ``exec`` returning a
value). The conversion makes that module read ``AsyncSession`` (``async with``, ``await
session.exec(...)``): the patch then fails (the module has no ``Session`` any more), or, when the
name stays bound, replaces nothing the code uses and the test reaches a real database. A patch of
the library's own name (``patch("sqlmodel.Session")``) likewise, and a patch of a shared engine
or session factory (``patch("app.db.engine", test_engine)``) hands the converted code a sync one.
Each would make a passing test fail, so each blocks the conversion (SQLA008 on the engine names
the test and the target), but one: the double of a project module's ``Session`` in the shape
fastapi/full-stack-fastapi-template's prestart tests use, whose async twin is exact::

    session_mock = MagicMock()                        session_mock = AsyncMock()
    session_mock.__enter__.return_value = ...    ->   session_mock.__aenter__.return_value = ...
    with patch("app.m.Session",                       with patch("app.m.AsyncSession",
               return_value=session_mock):                       return_value=session_mock):
        ...                                               ...
    session_mock.exec.assert_called_once_with(x)      session_mock.exec.assert_called_once_with(x)

(:func:`doubles` proves the shape in the first pass: the double is made by ``MagicMock()`` with
no arguments in the same function, and used only as that ``return_value``, in its
``__enter__.return_value`` and through attributes such as assertions; :class:`DoubleRewrites`
rewrites it. An ``AsyncMock``'s methods are awaitable, as the converted module's ``await
session.exec(...)`` needs, and its ``__aexit__`` returns False like ``__exit__`` did.)
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from .astwalk import dotted_name
from .program_facts import Program
from .sqla_facts import CLOSURE, Site

# names the conversion replaces where a module imports them from the libraries
RENAMED = frozenset({"Session", "sessionmaker", "create_engine", "scoped_session"})
LIBRARIES = frozenset({"sqlalchemy", "sqlmodel"})


def replaced(
    program: Program, inputs: Mapping[str, Any], converted: Set[Tuple[str, str]]
) -> List[Tuple[str, Site]]:
    """(test file, where it replaces a converted name) for every such patch target; the
    doubles whose async twin is exact go in ``converted`` as (test file, target) instead."""
    out: List[Tuple[str, Site]] = []
    for path in sorted(program.modules):
        for target in sorted(program.modules[path].mocked):
            module, _, name = target.rpartition(".")
            if not module or not _converted(program, inputs, path, module, name):
                continue
            if (
                name == "Session"
                and module.split(".")[0] not in LIBRARIES
                and target in getattr(inputs.get(path), "doubles", ())
            ):
                converted.add((path, target))
            else:
                line = _line_of(path, target)
                out.append(
                    (
                        path,
                        Site(
                            line,
                            1,
                            CLOSURE,
                            f"a test replaces `{target}`, which the conversion makes async "
                            "(the double is configured for the sync object)",
                        ),
                    )
                )
    return out


def _converted(
    program: Program, inputs: Mapping[str, Any], importer: str, module: str, name: str
) -> bool:
    if module.split(".")[0] in LIBRARIES:
        return name in RENAMED
    where: Optional[str] = program.resolver.module(module, importer)
    if where is None or where not in program.modules:
        return False
    if name in RENAMED and any(
        entry.local == name and not entry.level and entry.module.split(".")[0] in LIBRARIES
        for entry in program.modules[where].imported
    ):
        return True
    fact = inputs.get(where)
    return any(shared.name == name for shared in getattr(fact, "shared", ()))


def _line_of(path: str, target: str) -> int:
    """The line of the first mention of the patch target (the facts keep targets, not lines)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if target in text:
                    return number
    except OSError:
        pass
    return 1


def doubles(tree: ast.Module) -> Tuple[str, ...]:
    """Patch targets every patch of which in this file hands over a double whose async twin
    is exact (the module docstring's shape; ``MagicMock`` imported from unittest.mock)."""
    if not any(
        isinstance(s, ast.ImportFrom)
        and s.module == "unittest.mock"
        and any(a.name == "MagicMock" and not a.asname for a in s.names)
        for s in tree.body
    ):
        return ()
    good: Set[str] = set()
    bad: Set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        parents: Dict[int, ast.AST] = {}
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.Call)
                and (dotted_name(node.func) or "").rpartition(".")[2] == "patch"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            target = node.args[0].value
            double = [k.value for k in node.keywords if k.arg == "return_value"]
            name = double[0].id if double and isinstance(double[0], ast.Name) else ""
            if name and not parents:
                parents = {
                    id(child): parent
                    for parent in ast.walk(function)
                    for child in ast.iter_child_nodes(parent)
                }
            (good if name and _exact_twin(function, parents, name, node) else bad).add(target)
    return tuple(sorted(good - bad))


def _exact_twin(
    function: ast.AST, parents: Mapping[int, ast.AST], name: str, patch: ast.Call
) -> bool:
    made = 0
    for node in ast.walk(function):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Assign) and parent.targets[0] is node:
            value = parent.value
            if not (
                len(parent.targets) == 1
                and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "MagicMock"
                and not value.args
                and not value.keywords
            ):
                return False
            made += 1
        elif isinstance(parent, ast.keyword):
            if parent not in patch.keywords:
                return False
        elif isinstance(parent, ast.Attribute):
            if parent.attr == "__exit__" or (
                parent.attr.startswith("__") and parent.attr != "__enter__"
            ):
                return False
            if parent.attr == "__enter__":
                grand = parents.get(id(parent))
                assign = parents.get(id(grand))
                if not (
                    isinstance(grand, ast.Attribute)
                    and grand.attr == "return_value"
                    and isinstance(assign, ast.Assign)
                    and assign.targets == [grand]
                ):
                    return False
        elif isinstance(parent, ast.Assign) and parent.value is node:
            grand_target = parent.targets[0] if len(parent.targets) == 1 else None
            if not (
                isinstance(grand_target, ast.Attribute)
                and grand_target.attr == "return_value"
                and isinstance(grand_target.value, ast.Attribute)
                and grand_target.value.attr == "__enter__"
            ):
                return False
        else:
            return False
    return made == 1
