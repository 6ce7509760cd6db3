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
    stack: List[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if module:
                bound.add(node.name)
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend([*node.bases, *(k.value for k in node.keywords)])
                continue
            stack.extend(_evaluated_here(node.args))
            if node.returns is not None:
                stack.append(node.returns)
            if module:
                bound.update(_declared_global(node))
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(_evaluated_here(node.args))
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # only a walrus binds here: the loop variables are the comprehension's own
            inner = [g.iter for g in node.generators] + [c for g in node.generators for c in g.ifs]
            inner += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            bound.update(
                n.target.id
                for part in inner
                for n in ast.walk(part)
                if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
            )
            stack.append(node.generators[0].iter)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if imports:
                bound.update(
                    alias.asname or alias.name.partition(".")[0]
                    for alias in node.names
                    if alias.name != "*"
                )
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and declared is not None:
            declared.update(node.names)
        elif type(node).__name__ in ("MatchAs", "MatchStar", "MatchMapping"):  # Python 3.10+
            name = getattr(node, "rest" if type(node).__name__ == "MatchMapping" else "name")
            if name:
                bound.add(name)
        stack.extend(ast.iter_child_nodes(node))
    return bound


def _evaluated_here(args: ast.arguments) -> List[ast.AST]:
    """The parts of a def's or lambda's parameters evaluated where it is defined."""
    every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    annotations = [a.annotation for a in every if a is not None and a.annotation is not None]
    defaults = [d for d in [*args.defaults, *args.kw_defaults] if d is not None]
    return [*defaults, *annotations]


def _declared_global(function: ast.AST) -> Set[str]:
    """Names a function (or a function nested in it) declares ``global`` and assigns."""
    declared = {name for n in ast.walk(function) if isinstance(n, ast.Global) for name in n.names}
    return {
        n.id
        for n in ast.walk(function)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in declared
    }
