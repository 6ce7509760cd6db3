"""The cost model of cpu_to_executor: one file's facts from its ast (first pass).

For each module-level ``def``: the constant cost of its loops, the calls it makes (names as
written, resolved later by cpu_proof), whether it does I/O or touches shared state; and the
module-level instances of known hashing classes. Pure data out, no libcst.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Optional, Set, Tuple

from .astwalk import dotted_name, iter_child_nodes, walk
from .cpu_facts import (
    CONSUMERS,
    HIGHER_ORDER,
    IO_BUILTINS,
    IO_METHODS,
    IO_MODULES,
    ITERATIONS,
    MARKER,
    MUTATING_METHODS,
    PURE_BUILTINS,
)
from .cpu_values import (
    _builtin_value,
    _const_int,
    _literal_size,
    _Module,
    _module_facts,
    _plain_type,
)
from .program_facts import ModuleFacts


def _short(node: ast.expr, limit: int = 30) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _FunctionScan:
    """Static facts about one module-level ``def``: its loops' costs, its calls, I/O, shared
    state. ``python``/``cost`` is proof of heavy work (constant trip counts); ``data`` is only a
    hint (loops whose size depends on the input); ``unknown`` lists calls that may block."""

    def __init__(self, fn: ast.FunctionDef, module: _Module) -> None:
        self.module = module
        args = fn.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        self.params = {a.arg for a in every}
        self.params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.consts = dict(module.consts)
        self.deps: Dict[str, Set[str]] = {}  # local name -> names its values are computed from
        self.locals: Set[str] = set(self.params)
        self._local_consts(fn)
        self.typed = self._typed_locals(fn, {a.arg for a in every if _plain_type(a.annotation)})
        self.python = False  # pure-Python heavy work of a constant cost (proof)
        self.cost = 0  # the largest constant iteration count seen
        self.data = ""  # nested loops over data of unknown size (a hint only)
        self.calls: Set[str] = set()  # dotted names as written, to resolve through the project
        self.unknown: List[str] = []  # calls that may block, as written
        self.io = False
        self.pure = True
        self.offloadable = True  # not a generator
        for decorator in fn.decorator_list:  # the wrapper runs too
            self._reference(decorator.func if isinstance(decorator, ast.Call) else decorator)
        for stmt in fn.body:
            self._visit(stmt, [])

    def _local_consts(self, fn: ast.FunctionDef) -> None:
        counts: Dict[str, int] = {}
        values: Dict[str, ast.expr] = {}
        for node in walk(fn):
            targets: List[ast.expr] = []
            source: Optional[ast.expr] = None
            if isinstance(node, ast.Assign):
                targets, source = node.targets, node.value
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
                targets, source = [node.target], node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets, source = [node.target], node.iter
            elif (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node is not fn
            ):
                self.locals.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.locals.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets, source = [node.optional_vars], node.context_expr
            used = (
                {n.id for n in walk(source) if isinstance(n, ast.Name)}
                if source is not None
                else set()
            )
            for target in targets:
                for name in walk(target):
                    if isinstance(name, ast.Name):
                        self.locals.add(name.id)
                        self.deps.setdefault(name.id, set()).update(used)
                        counts[name.id] = counts.get(name.id, 0) + 1
                        if isinstance(node, ast.Assign):
                            values[name.id] = node.value
        for name, value in values.items():
            if counts[name] == 1 and name not in self.params:
                number = _const_int(value, self.consts)
                if number is not None:
                    self.consts[name] = number
        for name in counts:
            if name not in values or counts[name] > 1:
                self.consts.pop(name, None)

    def _typed_locals(self, fn: ast.FunctionDef, typed_params: Set[str]) -> Set[str]:
        """Names that only ever hold builtin values: parameters annotated with builtin types,
        locals every binding of which is a builtin value or a ``range`` item."""
        shadowed = self.locals | self.module.names
        bindings: Dict[str, List[Optional[ast.expr]]] = {}
        for node in walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    value = node.value if isinstance(target, ast.Name) else None
                    for name in walk(target):
                        if isinstance(name, ast.Name):
                            bindings.setdefault(name.id, []).append(value)
            elif isinstance(node, (ast.For, ast.comprehension)):
                ranged = (
                    isinstance(node.iter, ast.Call)
                    and isinstance(node.iter.func, ast.Name)
                    and node.iter.func.id == "range"
                    and "range" not in shadowed
                    and isinstance(node.target, ast.Name)
                )
                for name in walk(node.target):
                    if isinstance(name, ast.Name):
                        bindings.setdefault(name.id, []).append(ast.Constant(0) if ranged else None)
            elif isinstance(node, ast.NamedExpr):
                bindings.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for name in walk(node.optional_vars):
                    if isinstance(name, ast.Name):
                        bindings.setdefault(name.id, []).append(None)
            elif (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node is not fn
            ):
                bindings.setdefault(node.name, []).append(None)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bindings.setdefault(node.name, []).append(None)
            # An augmented assignment keeps the type of what the name holds.
        typed = {name for name in typed_params if name not in bindings}
        changed = True
        while changed:  # `a = []` then `b = a`: a name's values may come from typed names
            changed = False
            for name, values in bindings.items():
                if name in typed or name in self.params:
                    continue
                if all(
                    v is not None and _builtin_value(v, typed | self.module.typed, shadowed)
                    for v in values
                ):
                    typed.add(name)
                    changed = True
        return typed

    def _sources(self, names: Set[str]) -> Set[str]:
        """``names`` and every local name their values are computed from, transitively."""
        seen = set(names)
        todo = list(names)
        while todo:
            for source in self.deps.get(todo.pop(), ()):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen

    # A loop level: its constant trip count (None: data-sized), the names it binds, its text.
    def _level(
        self, iterable: ast.expr, target: ast.expr
    ) -> Tuple[Optional[int], Set[str], ast.expr]:
        names = {n.id for n in walk(target) if isinstance(n, ast.Name)}
        count: Optional[int] = None
        if (
            isinstance(iterable, ast.Call)
            and dotted_name(iterable.func) == "range"
            and not iterable.keywords
        ):
            bounds = [_const_int(a, self.consts) for a in iterable.args]
            if bounds and None not in bounds:
                start, stop, step = {1: lambda b: (0, b[0], 1), 2: lambda b: (b[0], b[1], 1)}.get(
                    len(bounds), lambda b: (b[0], b[1], b[2])
                )(bounds)
                count = max(0, -(-(stop - start) // step)) if step > 0 else None
        else:
            size = _literal_size(iterable)
            if size is None and isinstance(iterable, ast.Name):
                size = self.module.sizes.get(iterable.id)
            count = size
        return count, names, iterable

    def _loop(
        self,
        iterable: ast.expr,
        target: ast.expr,
        stack: List[Tuple[Optional[int], Set[str], ast.expr]],
    ):
        count, _, _ = level = self._level(iterable, target)
        # What the iterable is computed from, through the function's assignments (`aliases =
        # get_aliases(field)` inside `for field in fields` depends on the outer loop).
        used = self._sources({n.id for n in walk(iterable) if isinstance(n, ast.Name)})
        known = 1
        for level_count, _, _ in stack:
            if level_count is not None:
                known *= level_count
        if count is not None and known * count >= ITERATIONS:
            # Every level's trip count is a constant: the cost is fixed by the code itself.
            if all(level_count is not None for level_count, _, _ in stack):
                self.python = True
                self.cost = max(self.cost, known * count)
        if count is None and not self.data:
            for level_count, level_names, outer in stack:
                if level_count is None and not (level_names & used):
                    # Two independent iterations over data: O(n*m) -- if the data is large,
                    # which nothing here says. A hint, not proof.
                    self.data = f"nested loops over `{_short(outer)}` and `{_short(iterable)}`"
                    break
        return stack + [level]

    def _visit(
        self,
        node: ast.AST,
        stack: List[Tuple[Optional[int], Set[str], ast.expr]],
        nested: bool = False,
    ) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            for child in iter_child_nodes(node):
                self._visit(child, [], nested=True)
            return
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom)) and not nested:
            self.offloadable = False
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            self.pure = False
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)):
                    root = target
                    while isinstance(root, (ast.Attribute, ast.Subscript)):
                        root = root.value
                    if isinstance(root, ast.Name) and (
                        root.id in self.params or root.id in self.module.mutables
                    ):
                        self.pure = False
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in self.module.mutables:
                self.pure = False
        elif isinstance(node, ast.Call):
            self._call(node)
            # sum(range(10**6)), sorted(range(n)): the builtin runs the loop.
            if (
                not nested
                and dotted_name(node.func) in CONSUMERS
                and node.args
                and not isinstance(node.args[0], ast.Starred)
            ):
                self._loop(node.args[0], ast.Tuple(elts=[], ctx=ast.Store()), stack)
        if not nested and isinstance(node, ast.For):
            self._visit(node.iter, stack)
            inner = self._loop(node.iter, node.target, stack)
            for child in [*node.body, *node.orelse]:
                self._visit(child, inner)
            return
        if not nested and isinstance(
            node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
        ):
            inner = stack
            for generator in node.generators:
                self._visit(generator.iter, inner)
                inner = self._loop(generator.iter, generator.target, inner)
                for condition in generator.ifs:
                    self._visit(condition, inner)
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for element in elements:
                self._visit(element, inner)
            return
        for child in iter_child_nodes(node):
            self._visit(child, stack, nested)

    def _unknown(self, text: str) -> None:
        if text not in self.unknown:
            self.unknown.append(text)

    def _reference(self, func: ast.expr) -> None:
        """``func`` is called (directly, as a decorator, or by map/sorted/...): what is it?"""
        name = dotted_name(func)
        module = self.module
        if name is None:
            if isinstance(func, ast.Attribute) and func.attr in IO_METHODS:
                self.io = True
            elif isinstance(func, ast.Attribute) and _builtin_value(
                func.value, self.typed | module.typed, self.locals | module.names
            ):
                pass  # "".join(...), [..].count(x): methods of builtin values
            else:
                self._unknown(_short(func))
            return
        root, _, rest = name.partition(".")
        method = name.rsplit(".", 1)[-1]
        local = root in self.locals
        if not rest and name in IO_BUILTINS and not local and name not in module.names:
            self.io = True
        elif root in module.imports and not local:
            level, imported, obj = module.imports[root]
            target = imported if obj is None else f"{imported}.{obj}"
            if level == 0 and target.split(".")[0] in IO_MODULES:
                self.io = True
            else:
                self.calls.add(name)  # the project index says what it is
        elif rest and (method in IO_METHODS or (not local and root in module.io_objects)):
            self.io = True
        elif local:
            if not (rest and root in self.typed):  # a method of a local builtin value is fine
                self._unknown(name)
        elif root in module.defs or (rest and root in module.names and root not in module.typed):
            self.calls.add(name)  # a project function, or a method of a module-level instance
        elif rest and root in module.typed:
            pass
        elif not rest and name in PURE_BUILTINS and name not in module.names:
            pass
        else:
            self._unknown(name)

    def _call(self, node: ast.Call) -> None:
        self._reference(node.func)
        name = dotted_name(node.func)
        # Callables handed to a builtin that calls them: map(load, paths), sorted(xs, key=f).
        given = (
            [a for a in node.args if isinstance(a, (ast.Name, ast.Attribute))]
            if name in HIGHER_ORDER
            else []
        )
        given += [
            k.value
            for k in node.keywords
            if k.arg == "key" and isinstance(k.value, (ast.Name, ast.Attribute))
        ]
        for func in given:
            if not (
                isinstance(func, ast.Name)
                and func.id in PURE_BUILTINS
                and func.id not in self.locals | self.module.names
            ):
                self._reference(func)
        if name is not None:
            root, _, rest = name.partition(".")
            if rest and root in self.params and name.rsplit(".", 1)[-1] in MUTATING_METHODS:
                self.pure = False


def _marked(fn: ast.FunctionDef, lines: List[bytes]) -> bool:
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    # The comment may stand on the def line, on a decorator line or on the line just above.
    return any(
        MARKER.search(lines[i - 1])
        for i in range(max(1, first - 1), fn.lineno + 1)
        if i <= len(lines)
    )


def scan(tree: ast.Module, source: bytes, facts: ModuleFacts) -> Optional[Dict[str, Any]]:
    """One file's facts: its module-level functions and instances, names as written."""
    module = _module_facts(tree, facts)
    lines = source.splitlines()
    functions: Dict[str, Dict[str, Any]] = {}
    instances: Dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name in module.defs:
            found = _FunctionScan(stmt, module)
            functions[stmt.name] = {
                "python": found.python,
                "cost": found.cost,
                "data": found.data,
                "calls": sorted(found.calls),
                "unknown": found.unknown,
                "io": found.io,
                "pure": found.pure and not stmt.decorator_list,
                "offloadable": found.offloadable,
                "marked": _marked(stmt, lines),
            }
        elif (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
        ):
            made = dotted_name(stmt.value.func)
            if made is not None:
                instances[stmt.targets[0].id] = made
    if not functions and not instances:
        return None
    return {"imports": module.imports, "functions": functions, "instances": instances}
