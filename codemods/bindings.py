"""The names a scope binds, by Python's scoping rules (ast only): the one bindings reader.

:func:`module_bindings` (a module's top level: the first passes of sqla_commands, sqla_scan,
dependency_facts) and :func:`function_bindings` (a function's own scope: astwalk.bound_names,
the names a call's target may be shadowed by) walk alike. The byte-level prefilter
(prefilter.bindings) is the one other reader, on purpose: it runs before any parse.

A rewrite that adds a module-level name (an import, a helper) must know every binding of it
already there, however it is written: the first pass refuses on any of them, so the transform
never meets a clash it would have to check again.
"""

from __future__ import annotations

import ast
from typing import FrozenSet, List, Mapping, Optional, Set

from .astwalk import iter_child_nodes, walk


def module_bindings(
    tree: ast.Module, imports: Mapping[str, str], with_imports: bool = True
) -> Set[str]:
    """Every name the module binds at its top level, by Python's scoping rules: assignments of
    any shape (annotated, augmented, unpacked, walrus), ``for``/``with``/``except`` targets,
    defs, classes and imports, also inside ``if``/``try``/loops, and names a function declares
    ``global`` and assigns. Not the names of other scopes (function locals, class attributes,
    comprehension and lambda variables). ``with_imports=False``: the names bound otherwise than
    by an import (those an import would be shadowed by: dependency_facts.FileNames)."""
    return set(imports) | _scope(tree.body, module=True, imports=with_imports)


def function_bindings(function: ast.AST) -> FrozenSet[str]:
    """The names a function binds in its own scope, by the same rules: its parameters, and
    what its body binds (a walrus in a comprehension included, a comprehension's own variables
    not), minus the names it declares ``global`` or ``nonlocal``, and minus nested defs,
    classes and imports (a call through those is resolved, not shadowed: astwalk.bound_names)."""
    arguments = function.args  # type: ignore[attr-defined]
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    names = {a.arg for a in [*every, arguments.vararg, arguments.kwarg] if a is not None}
    declared: Set[str] = set()
    names |= _scope(function.body, False, False, declared)  # type: ignore[attr-defined]
    return frozenset(names - declared)


def _scope(
    body: List[ast.stmt], module: bool, imports: bool, declared: Optional[Set[str]] = None
) -> Set[str]:
    """What the statements ``body`` of one scope bind in it. ``module``: the module's scope
    (defs and classes bind there, and names a function declares ``global`` and assigns); else
    a function's (its nested defs and classes are left out). ``imports``: names imported.
    ``declared`` receives the names the scope declares ``global`` or ``nonlocal``."""
    bound: Set[str] = set()
    add = bound.add
    stack: List[ast.AST] = list(body)
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        cls = node.__class__
        if cls is _NAME:  # most nodes: checked first, and a Name has no children to walk
            if node.ctx.__class__ is _STORE:  # type: ignore[attr-defined]
                add(node.id)  # type: ignore[attr-defined]
            continue
        if cls in _DEFS:
            if module:
                add(node.name)  # type: ignore[attr-defined]
            extend(node.decorator_list)  # type: ignore[attr-defined]
            if cls is ast.ClassDef:
                extend([*node.bases, *(k.value for k in node.keywords)])  # type: ignore
                continue
            extend(_evaluated_here(node.args))  # type: ignore[attr-defined]
            if node.returns is not None:  # type: ignore[attr-defined]
                stack.append(node.returns)  # type: ignore[attr-defined]
            if module:
                bound.update(_declared_global(node))
            continue
        if cls is ast.Lambda:
            extend(_evaluated_here(node.args))  # type: ignore[attr-defined]
            continue
        if cls in _COMPREHENSIONS:
            # only a walrus binds here: the loop variables are the comprehension's own
            generators = node.generators  # type: ignore[attr-defined]
            inner = [g.iter for g in generators] + [c for g in generators for c in g.ifs]
            inner += [node.key, node.value] if cls is ast.DictComp else [node.elt]  # type: ignore
            bound.update(
                n.target.id
                for part in inner
                for n in ast.walk(part)
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
            )
            stack.append(generators[0].iter)
            continue
        if cls is ast.Import or cls is ast.ImportFrom:
            if imports:
                bound.update(
                    alias.asname or alias.name.partition(".")[0]
                    for alias in node.names  # type: ignore[attr-defined]
                    if alias.name != "*"
                )
        elif cls is ast.ExceptHandler:
            if node.name:  # type: ignore[attr-defined]
                add(node.name)  # type: ignore[attr-defined]
        elif cls is ast.Global or cls is ast.Nonlocal:
            if declared is not None:
                declared.update(node.names)  # type: ignore[attr-defined]
        elif cls.__name__ in _MATCH_NAMES:  # Python 3.10+
            name = getattr(node, _MATCH_NAMES[cls.__name__])
            if name:
                add(name)
        extend(iter_child_nodes(node))
    return bound


_NAME, _STORE = ast.Name, ast.Store
_DEFS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp})
# match patterns that bind a name -> the field holding it
_MATCH_NAMES = {"MatchAs": "name", "MatchStar": "name", "MatchMapping": "rest"}


def _evaluated_here(args: ast.arguments) -> List[ast.AST]:
    """The parts of a def's or lambda's parameters evaluated where it is defined."""
    every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    annotations = [a.annotation for a in every if a is not None and a.annotation is not None]
    defaults = [d for d in [*args.defaults, *args.kw_defaults] if d is not None]
    return [*defaults, *annotations]


def _declared_global(function: ast.AST) -> Set[str]:
    """Names a function (or a function nested in it) declares ``global`` and assigns."""
    declared: Set[str] = set()
    stored: Set[str] = set()
    for n in walk(function):  # one walk, without ctx/operator nodes (astwalk.walk)
        if n.__class__ is ast.Global:
            declared.update(n.names)  # type: ignore[attr-defined]
        elif n.__class__ is ast.Name and n.ctx.__class__ is ast.Store:  # type: ignore[attr-defined]
            stored.add(n.id)  # type: ignore[attr-defined]
    return declared & stored
