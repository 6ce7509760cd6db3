"""The names a module binds at its top level, by Python's scoping rules (ast only).

A rewrite that adds a module-level name (an import, a helper) must know every binding of it
already there, however it is written: the first pass refuses on any of them, so the transform
never meets a clash it would have to check again.
"""

from __future__ import annotations

import ast
from typing import List, Mapping, Set


def module_bindings(tree: ast.Module, imports: Mapping[str, str]) -> Set[str]:
    """Every name the module binds at its top level, by Python's scoping rules: assignments of
    any shape (annotated, augmented, unpacked, walrus), ``for``/``with``/``except`` targets,
    defs, classes and imports, also inside ``if``/``try``/loops, and names a function declares
    ``global`` and assigns. Not the names of other scopes (function locals, class attributes,
    comprehension and lambda variables)."""
    bound: Set[str] = set(imports)
    stack: List[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend([*node.bases, *(k.value for k in node.keywords)])
                continue
            stack.extend(_evaluated_here(node.args))
            if node.returns is not None:
                stack.append(node.returns)
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
            bound.update(
                alias.asname or alias.name.partition(".")[0]
                for alias in node.names
                if alias.name != "*"
            )
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
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
