"""The values cpu_cost reasons about: constant integers and literal sizes, builtin-typed
values, and one module's level facts (constants, mutables, imports, I/O objects). Pure data
out of the ast, no libcst.
"""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, Mapping, NamedTuple, Optional, Set, Tuple

from .astwalk import dotted_name, walk
from .cpu_facts import (
    IO_MODULES,
    MUTABLE_FACTORIES,
    PLAIN_TYPES,
)
from .program_facts import ModuleFacts


def _const_int(node: ast.expr, consts: Mapping[str, int]) -> Optional[int]:
    """The value of a constant integer expression (``10**6``, ``1_000 * N`` with ``N = 1000``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _const_int(node.operand, consts)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _const_int(node.left, consts), _const_int(node.right, consts)
        if left is None or right is None:
            return None
        op = node.op
        if isinstance(op, ast.Pow):
            return left**right if 0 <= right <= 64 and abs(left) <= 10**6 else None
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.FloorDiv) and right:
            return left // right
        if isinstance(op, ast.LShift) and 0 <= right <= 64:
            return left << right
    return None


def _literal_size(node: ast.expr) -> Optional[int]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return len(node.elts)
    if isinstance(node, ast.Dict):
        return len(node.keys)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return len(node.value)
    return None


# Builtins whose result is a builtin value (str, number, container) whatever they are given.
_BUILTIN_RESULTS = frozenset(
    {
        "abs",
        "ascii",
        "bin",
        "bool",
        "bytearray",
        "bytes",
        "chr",
        "complex",
        "dict",
        "divmod",
        "float",
        "format",
        "frozenset",
        "hex",
        "int",
        "len",
        "list",
        "oct",
        "ord",
        "repr",
        "round",
        "set",
        "sorted",
        "str",
        "tuple",
    }
)


def _plain_type(node: Optional[ast.expr]) -> bool:
    """An annotation naming builtin values only: ``list``, ``dict[str, int]``, ``str | None``."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):
        return node.id in PLAIN_TYPES
    if isinstance(node, ast.Attribute):
        return node.attr in PLAIN_TYPES
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _plain_type(node.left) and _plain_type(node.right)
    if isinstance(node, ast.Subscript):
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return _plain_type(node.value) and all(
            _plain_type(e) or (isinstance(e, ast.Constant) and e.value is Ellipsis) for e in inner
        )
    return False


def _builtin_value(
    node: ast.expr, typed: Set[str] | FrozenSet[str], shadowed: Set[str] | FrozenSet[str]
) -> bool:
    """``node`` certainly evaluates to a builtin str/bytes/number/container (its methods do
    no I/O): a literal, a display, a comprehension, an f-string, a builtin's result, a name in
    ``typed``; ``shadowed`` are the names that are not the builtins."""
    if isinstance(
        node,
        (
            ast.Constant,
            ast.List,
            ast.Tuple,
            ast.Set,
            ast.Dict,
            ast.ListComp,
            ast.SetComp,
            ast.DictComp,
            ast.JoinedStr,
        ),
    ):
        return True
    if isinstance(node, ast.Name):
        return node.id in typed
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in _BUILTIN_RESULTS and func.id not in shadowed
        # "".join(...), text.split(), ...: a method of a builtin value returns one.
        return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant)
    return False


class _Module(NamedTuple):
    consts: Dict[str, int]  # module-level NAME = <constant int>
    sizes: Dict[str, int]  # module-level NAME = <literal display>: its length
    mutables: FrozenSet[str]  # module-level names bound to mutable containers
    imports: Dict[str, Tuple[int, str, Optional[str]]]  # name -> (level, module, object)
    defs: FrozenSet[str]
    io_objects: FrozenSet[str]  # module-level names made by an I/O module (logger, session)
    typed: FrozenSet[str]  # module-level names bound once, to a builtin value
    names: FrozenSet[str]  # every module-level name bound (they shadow the builtins)


def _module_facts(tree: ast.Module, module: ModuleFacts) -> _Module:
    consts: Dict[str, int] = {}
    sizes: Dict[str, int] = {}
    mutables: Set[str] = set()
    defs: Set[str] = set()
    bound: Dict[str, int] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            name, value = stmt.targets[0].id, stmt.value
            bound[name] = bound.get(name, 0) + 1
            number = _const_int(value, consts)
            if number is not None:
                consts[name] = number
            size = _literal_size(value)
            if size is not None and not isinstance(value, ast.Constant):
                sizes[name] = size
            if isinstance(
                value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
            ) or (
                isinstance(value, ast.Call)
                and (dotted_name(value.func) or "").split(".")[-1] in MUTABLE_FACTORIES
            ):
                mutables.add(name)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(stmt, ast.FunctionDef):
                defs.add(stmt.name)
            bound[stmt.name] = bound.get(stmt.name, 0) + 1
    # The imports as the first pass read them (the last binding of each name, wherever it
    # stands), in this module's shape: object None for `import m`.
    imports = {
        local: (level, imported, obj or None)
        for local, (level, imported, obj) in module.imports.items()
    }
    io_objects = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            made = (dotted_name(stmt.value.func) or "").split(".")[0]
            if made in imports and imports[made][0] == 0:
                level, module, obj = imports[made]
                if module.split(".")[0] in IO_MODULES:
                    io_objects.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    names = (
        set(bound)
        | set(imports)
        | {
            n.id
            for stmt in tree.body
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            for n in walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
    )
    typed = {
        stmt.targets[0].id
        for stmt in tree.body
        if isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and _builtin_value(stmt.value, frozenset(), names)
    }
    # A name bound twice at module level is not a constant / not one function.
    for name, count in bound.items():
        if count > 1:
            consts.pop(name, None)
            sizes.pop(name, None)
            defs.discard(name)
            typed.discard(name)
    return _Module(
        consts,
        sizes,
        frozenset(mutables),
        imports,
        frozenset(defs),
        frozenset(io_objects),
        frozenset(typed - set(imports)),
        frozenset(names),
    )
