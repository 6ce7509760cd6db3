"""Which call sites cpu_to_executor sends to a process pool, read from the ``ast``: the site's
side of that decision, stated once. The rewrite asks it per call (CpuCalls._site, on the text
its libcst tree prints, keyed by the called expression's span, which both parsers give), and
cpu_hosts.pool_users asks it in the whole-program analysis (only on the modules whose calls a
process pool may take), so the app's pool has as users exactly the modules whose rewrite calls
it.

The callee's side (proven CPU-bound, pure Python, picklable by reference) is the program's
(cpu_hosts._offloads, CpuCalls._callee). The site's side is here:

* each argument is plain, picklable data: a literal, a parameter of the coroutine annotated
  with a plain type and never rebound, containers and arithmetic of those,
  ``len(...)``/``int(...)`` and the like, ``.encode()``/``.lower()`` of one (else the call
  goes to the thread pool, CPU002);
* the call is not already awaited, not in a generator expression or a nested comprehension,
  and its lines carry no ``# asyncfix: ignore`` for cpu_to_executor (else: no verdict);
* ``asyncio`` (and ``functools`` for keyword arguments) is bound only by ``import asyncio``
  anywhere in the module, or not at all;
* ``multiprocessing.Pool``: ``with Pool() as p:`` whose body only calls ``p.apply``/``p.map``
  (cpu_pool.py builds the new calls), or ``Pool().apply/map(...)``: the verdict is on the
  ``Pool(...)`` call.

Where a question cannot be answered exactly from the ``ast`` it answers "no" (the call goes
to the thread pool; a module it leaves out keeps a pool of its own: correct, only unshared).
"""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from .astwalk import Columns, dotted_name
from .cpu_facts import PLAIN_RESULTS, PLAIN_TYPES
from .program_facts import ModuleFacts, Span

NAME = "cpu_to_executor"
POOL_CLASSES = frozenset({"multiprocessing.Pool", "multiprocessing.pool.Pool"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_STRING_METHODS = frozenset({"encode", "lower", "upper", "strip"})


def plain_annotation(node: Optional[ast.expr]) -> bool:
    """cpu_calls.plain_annotation on the ast: ``int``, ``list[str]``, ``Optional[bytes]``,
    ``Annotated[int, Query()]``, ``str | None``."""
    if node is None:
        return False
    if isinstance(node, ast.Name):
        return node.id in PLAIN_TYPES
    if isinstance(node, ast.Constant) and node.value is None:  # a Name to libcst
        return "None" in PLAIN_TYPES
    if isinstance(node, ast.Attribute):
        return node.attr in PLAIN_TYPES
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return plain_annotation(node.left) and plain_annotation(node.right)
    if isinstance(node, ast.Subscript):
        base = node.value
        base_name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
        index = node.slice
        elements = index.elts if isinstance(index, ast.Tuple) else [index]
        elements = [e for e in elements if not isinstance(e, ast.Slice)]
        if base_name == "Annotated":
            return bool(elements) and plain_annotation(elements[0])
        return plain_annotation(base) and all(
            plain_annotation(e) or (isinstance(e, ast.Constant) and e.value is Ellipsis)
            for e in elements
        )
    return False


class _Function:
    """One function's parameters and the names its own scope binds besides them."""

    def __init__(self, function: ast.AST, module_bound: Set[str]) -> None:
        arguments = function.args  # type: ignore[attr-defined]
        self.params = {
            a.arg: a.annotation
            for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        }
        self.module_bound = module_bound
        self.rebound: Set[str] = set()
        for node in _own(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.rebound.add(node.id)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.rebound.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                self.rebound.update(node.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.rebound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, _SCOPES) and not isinstance(node, ast.Lambda):
                self.rebound.add(node.name)
        for a in (arguments.vararg, arguments.kwarg):
            if a is not None:
                self.rebound.add(a.arg)

    def plain(self, expr: ast.expr, in_comprehension: bool) -> bool:
        """cpu_calls.CpuCalls._plain_value: ``expr`` certainly evaluates to plain data."""
        if isinstance(expr, ast.Constant):
            return expr.value is not Ellipsis
        if isinstance(expr, ast.JoinedStr):
            return True
        if isinstance(expr, ast.Name):
            # a parameter of this coroutine, read in its own scope, bound once
            return (
                not in_comprehension
                and expr.id in self.params
                and expr.id not in self.rebound
                and plain_annotation(self.params[expr.id])
            )
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return all(
                not isinstance(e, ast.Starred) and self.plain(e, in_comprehension)
                for e in expr.elts
            )
        if isinstance(expr, ast.Dict):
            return all(
                key is not None
                and self.plain(key, in_comprehension)
                and self.plain(value, in_comprehension)
                for key, value in zip(expr.keys, expr.values)
            )
        if isinstance(expr, ast.UnaryOp):
            return self.plain(expr.operand, in_comprehension)
        if isinstance(expr, ast.BinOp):
            return self.plain(expr.left, in_comprehension) and self.plain(
                expr.right, in_comprehension
            )
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Name) and func.id in PLAIN_RESULTS:
                # the builtin itself: bound nowhere in the module (a stricter test than the
                # rewrite's scope lookup, never a looser one)
                return func.id not in self.module_bound
            if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS:
                # positional and keyword arguments plain; ``*xs``/``**kw`` left out, as there
                arguments = [a for a in expr.args if not isinstance(a, ast.Starred)]
                arguments += [k.value for k in expr.keywords if k.arg is not None]
                return self.plain(func.value, in_comprehension) and all(
                    self.plain(a, in_comprehension) for a in arguments
                )
        return False


def _own(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's own body, its nested defs, lambdas and classes left out (a
    nested def's name, decorators and defaults are its own scope's: yielded, not walked).
    """
    todo: List[ast.AST] = list(function.body)  # type: ignore[attr-defined]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, _SCOPES):
            if not isinstance(node, ast.Lambda):
                todo.extend(node.decorator_list)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo.extend(d for d in [*node.args.defaults, *node.args.kw_defaults] if d)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _module_bound(tree: ast.Module) -> Set[str]:
    """Every name bound anywhere in the module by anything (a superset of what a scope lookup
    finds: the stricter answer)."""
    bound: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _free(name: str, module: ModuleFacts, tree: ast.Module) -> bool:
    """``name`` is bound only by ``import name``, anywhere in the module, or not at all."""
    for entry in module.imported:
        if (entry.asname or entry.name or entry.module.split(".")[0]) == name:
            if entry.level or entry.name or entry.asname or entry.module != name:
                return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name:
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return False
        if isinstance(node, ast.arg) and node.arg == name:
            return False
        if isinstance(node, ast.ExceptHandler) and node.name == name:
            return False
    return True


def _qualified(func: ast.expr, module: ModuleFacts) -> str:
    """The dotted name a called expression has through the module's imports ("" if none)."""
    text = dotted_name(func)
    if not text:
        return ""
    head, _, rest = text.partition(".")
    bound = module.imports.get(head)
    if bound is None or bound[0]:
        return ""
    return ".".join(filter(None, [bound[1], bound[2], rest]))


def _pool_args_ok(call: ast.Call) -> bool:
    """cpu_pool.PoolRewrite._pool_args_ok: ``Pool()``, ``Pool(4)``, ``Pool(processes=4)``."""
    values = [*call.args, *call.keywords]
    return len(values) <= 1 and all(
        (isinstance(v, ast.keyword) and v.arg == "processes" and _int_or_name(v.value))
        or (isinstance(v, ast.expr) and not isinstance(v, ast.Starred) and _int_or_name(v))
        for v in values
    )


def _int_or_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) or (
        isinstance(node, ast.Constant) and type(node.value) is int
    )


def _pool_call(call: ast.AST, receiver: Optional[str] = None) -> Optional[bool]:
    """For ``p.apply(...)``/``p.map(...)`` (``receiver``: p's name; None: any receiver) in the
    shapes cpu_pool.PoolRewrite._pool_call_args takes: whether it passes keyword arguments
    (None when it is not such a call)."""
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in ("apply", "map")
    ):
        return None
    if receiver is not None and not (
        isinstance(call.func.value, ast.Name) and call.func.value.id == receiver
    ):
        return None
    names = (
        ("func", "args", "kwds") if call.func.attr == "apply" else ("func", "iterable", "chunksize")
    )
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > 3:
        return None
    bound = list(names[: len(call.args)])
    for keyword in call.keywords:
        if keyword.arg not in names or keyword.arg in bound:
            return None
        bound.append(keyword.arg)
    values = dict(zip(bound, [*call.args, *(k.value for k in call.keywords)]))
    func = values.get("func")
    if func is None or dotted_name(func) is None:
        return None
    if call.func.attr == "map":
        return None if "iterable" not in values else False
    return "kwds" in values


# Why a call site does not take the process pool (site_verdicts); "" when it does.
TAKES_POOL = ""
POOL_SHAPE = "multiprocessing.Pool in a shape the rewrite takes"  # on the Pool(...) call
NOT_PLAIN = "an argument is not known to be picklable"
NAME_TAKEN = "a name the rewrite needs (`asyncio`, `functools`) is bound to something else here"


def site_verdicts(tree: ast.Module, source: bytes, module: ModuleFacts) -> Dict[Span, str]:
    """The decision of the site's side, stated once: span of the called expression (as
        CallSite.span and libcst's PositionProvider give it) -> ``TAKES_POOL`` when cpu_to_executor
        sends the call to a process pool if its callee is CPU-bound, pure Python and picklable (the
        module docstring), ``POOL_SHAPE`` on the ``Pool`` of a ``multiprocessing.Pool`` use it
    takes, else why not (``NOT_PLAIN``, ``NAME_TAKEN``). The calls of coroutine
        bodies it leaves out (awaited, opted out, in a generator expression or a nested
        comprehension) have no entry: never a process pool."""
    functools = _free("functools", module, tree)
    columns = Columns(source)
    module_bound = _module_bound(tree)
    verdicts: Dict[Span, str] = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            verdicts.update(_function_sites(function, module, columns, module_bound, functools))
    if not _free("asyncio", module, tree):
        return dict.fromkeys(verdicts, NAME_TAKEN)
    return verdicts


def process_sites(tree: ast.Module, source: bytes, module: ModuleFacts) -> FrozenSet[Span]:
    """The spans of the calls that take the process pool (site_verdicts)."""
    verdicts = site_verdicts(tree, source, module)
    return frozenset(span for span, why in verdicts.items() if why in (TAKES_POOL, POOL_SHAPE))


def _ignored(call: ast.AST, module: ModuleFacts) -> bool:
    first, last = call.lineno, call.end_lineno or call.lineno  # type: ignore[attr-defined]
    return any(module.silenced(line, NAME) for line in range(first, last + 1))


def _function_sites(
    function: ast.AST,
    module: ModuleFacts,
    columns: Columns,
    module_bound: Set[str],
    functools: bool,
) -> Dict[Span, str]:
    scope = _Function(function, module_bound)
    sites: Dict[Span, str] = {}
    awaited = set()
    # (node, comprehension depth, inside a generator expression)
    todo: List[Tuple[ast.AST, int, bool]] = [(node, 0, False) for node in function.body]  # type: ignore[attr-defined]
    pool_withs: List[ast.With] = []
    while todo:
        node, depth, genexp = todo.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Await):
            awaited.add(id(node.value))
        if isinstance(node, ast.With) and depth == 0:
            pool_withs.append(node)
        if isinstance(node, ast.Call) and depth <= 1 and not genexp and id(node) not in awaited:
            if _qualified(node.func, module) not in POOL_CLASSES and not _ignored(node, module):
                # only in the shapes below
                sites[columns.span(node.func)] = _call_verdict(node, scope, depth == 1, functools)
            if depth == 0 and _direct_pool(node, module, functools):
                sites[columns.span(node.func.value.func)] = POOL_SHAPE  # type: ignore[attr-defined]
        if isinstance(node, _COMPREHENSIONS):
            first = node.generators[0].iter
            todo.append((first, depth, genexp))  # evaluated by the enclosing scope
            inner = genexp or isinstance(node, ast.GeneratorExp)
            for child in ast.iter_child_nodes(node):
                if child is not node.generators[0]:
                    todo.append((child, depth + 1, inner))
            for child in ast.iter_child_nodes(node.generators[0]):
                if child is not first:
                    todo.append((child, depth + 1, inner))
            continue
        todo.extend((child, depth, genexp) for child in ast.iter_child_nodes(node))
    for statement in pool_withs:
        span = _pool_with(statement, function, module, functools, columns)
        if span is not None:
            sites[span] = POOL_SHAPE
    return sites


def _call_verdict(call: ast.Call, scope: _Function, in_comprehension: bool, functools: bool) -> str:
    """Every argument plain (NOT_PLAIN else); ``functools`` free when the call passes keyword
    arguments (NAME_TAKEN else)."""
    values = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
    values += [k.value for k in call.keywords]
    if not all(scope.plain(value, in_comprehension) for value in values):
        return NOT_PLAIN
    return NAME_TAKEN if call.keywords and not functools else TAKES_POOL


def _direct_pool(call: ast.Call, module: ModuleFacts, functools: bool) -> bool:
    """``Pool().apply(f, ...)`` / ``Pool().map(f, xs)`` the rewrite takes."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)):
        return False
    pool = func.value
    if _qualified(pool.func, module) not in POOL_CLASSES or not _pool_args_ok(pool):
        return False
    keywords = _pool_call(call)
    return keywords is not None and (functools or not keywords) and not _ignored(call, module)


def _pool_with(
    statement: ast.With,
    function: ast.AST,
    module: ModuleFacts,
    functools: bool,
    columns: Columns,
) -> Optional[Span]:
    """``with Pool() as p:`` whose body only calls ``p.apply``/``p.map`` (cpu_pool.visit_With):
    the span of its ``Pool``."""
    if len(statement.items) != 1:
        return None
    item = statement.items[0]
    pool = item.context_expr
    if not (
        isinstance(pool, ast.Call)
        and _qualified(pool.func, module) in POOL_CLASSES
        and _pool_args_ok(pool)
        and isinstance(item.optional_vars, ast.Name)
    ):
        return None
    name = item.optional_vars.id
    if _bindings(function, name) != 1:  # the with's target, nothing else
        return None
    # Every mention of the name in the function (nested scopes, attributes and keywords
    # included: the rewrite's matchers count those) is the receiver of one such call.
    mentions = sum(_mentions(node, name) for node in ast.walk(function))
    calls = [
        node
        for body in statement.body
        for node in _own_statement(body)
        if _pool_call(node, name) is not None
    ]
    if not calls or len(calls) != mentions - 1:  # minus the with's own target
        return None
    if any(_ignored(call, module) for call in calls):
        return None
    if not functools and any(_pool_call(call, name) for call in calls):
        return None
    return columns.span(pool.func)


def _mentions(node: ast.AST, name: str) -> int:
    if isinstance(node, ast.Name):
        return node.id == name
    if isinstance(node, ast.Attribute):
        return node.attr == name
    if isinstance(node, (ast.keyword, ast.arg)):
        return getattr(node, "arg", None) == name
    return 0


def _bindings(function: ast.AST, name: str) -> int:
    """How many times the function's own scope binds ``name`` (parameters included)."""
    count = sum(a == name for a in _params(function))
    for node in _own(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            count += node.id == name
        elif isinstance(node, ast.ExceptHandler) or isinstance(node, _SCOPES[:2] + (ast.ClassDef,)):
            count += getattr(node, "name", None) == name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            count += any((a.asname or a.name).split(".")[0] == name for a in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            count += 2 * (name in node.names)  # bound elsewhere: never the with's alone
    return count


def _params(function: ast.AST) -> Set[str]:
    arguments = function.args  # type: ignore[attr-defined]
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return {a.arg for a in every}


def _own_statement(statement: ast.AST) -> Iterator[ast.AST]:
    """A statement's nodes, nested scopes and comprehensions left out (a call there is not
    one the rewrite takes as the with's; it is still a mention, so the with is declined).
    """
    todo = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES + _COMPREHENSIONS):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))
