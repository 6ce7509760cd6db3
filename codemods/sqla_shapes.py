"""The shapes the first pass recognises in a function's ``ast``: Session parameters (plain,
``Annotated``, aliases), engine parameters, the session dependency and ``try``/``finally`` forms,
a function's own nodes and locals, names handed to other code as callbacks.
"""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from .astwalk import FastVisitor, dotted_name, iter_child_nodes
from .sqla_facts import (
    ANNOTATED,
    ASYNC_AWARE,
    ASYNC_SESSION_CLASSES,
    DEPENDS,
    ENGINE_CLASSES,
    SESSION_CLASSES,
    _resolve,
)
from .sqla_holders import holder_attributes, uses_attribute


def _session_annotation(
    node: Optional[ast.AST], imports: Mapping[str, str]
) -> Tuple[Optional[str], bool]:
    """(kind, from Depends) of an annotation: ``Session`` -> ("sqlalchemy" / "sqlmodel", False),
    ``AsyncSession`` -> ("async", False), ``Annotated[Session, Depends(...)]`` -> (kind, True)."""
    name = _resolve(node, imports)
    if name in SESSION_CLASSES:
        return name.split(".")[0], False
    if name in ASYNC_SESSION_CLASSES:
        return "async", False
    if isinstance(node, ast.Subscript) and _resolve(node.value, imports) in ANNOTATED:
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        kind, _ = _session_annotation(elements[0], imports)
        depends = any(
            isinstance(e, ast.Call) and _resolve(e.func, imports) in DEPENDS for e in elements[1:]
        )
        return kind, depends
    return None, False


def _module_aliases(tree: ast.Module, imports: Mapping[str, str]) -> Dict[str, str]:
    """Module-level ``SessionDep = Annotated[Session, Depends(get_db)]``: name -> kind."""
    aliases: Dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Subscript):
            kind, _ = _session_annotation(value, imports)
            if kind is not None:
                aliases[target.id] = kind
    return aliases


class _Defs(FastVisitor):
    def __init__(
        self,
        imports: Mapping[str, str],
        aliases: Mapping[str, str] = {},
        imported: FrozenSet[str] = frozenset(),
    ) -> None:
        self.imports = imports
        self.aliases = aliases  # this module's Session aliases
        self.imported = imported  # names imported from the project (maybe aliases)
        self.prefix: List[str] = []
        self.found: List[Tuple[str, bool, bool]] = []
        self.nodes: List[
            Tuple[str, Union[ast.FunctionDef, ast.AsyncFunctionDef], Dict[str, str]]
        ] = []
        # (qualname, def, parameter, imported name): a Session if that name is an alias
        self.maybe: List[Tuple[str, Union[ast.FunctionDef, ast.AsyncFunctionDef], str, str]] = []
        self.engine_defs: List[Tuple[str, str, int]] = []
        # enclosing classes, each with its repository attributes (sqla_holders)
        self.classes: List[Tuple[ast.ClassDef, Dict[str, str]]] = []
        self.holder_classes: Dict[str, Dict[str, str]] = {}  # module-level repositories

    def _def(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> None:
        qualname = ".".join([*self.prefix, node.name])
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults: Dict[str, ast.expr] = dict(
            zip([a.arg for a in positional][len(positional) - len(args.defaults) :], args.defaults)
        )
        defaults.update(
            {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        )
        takes = depends = False
        sessions: Dict[str, str] = {}
        cls, holders = self.classes[-1] if self.classes else (None, {})
        if holders and cls is not None and node in cls.body:
            if node.name == "__init__":  # it only stores the session: it stays a plain def
                self.nodes.append((qualname, node, {}))
                self.prefix.extend([node.name, "<locals>"])
                self.generic_visit(node)
                del self.prefix[-2:]
                return
            for attribute, kind in holders.items():
                if uses_attribute(node, attribute):
                    takes = True
                    sessions[attribute] = kind
        for position, arg in enumerate([*positional, *args.kwonlyargs]):
            if (
                isinstance(node, ast.FunctionDef)
                and _resolve(arg.annotation, self.imports) in ENGINE_CLASSES
            ):
                self.engine_defs.append(
                    (qualname, arg.arg, position if position < len(positional) else -1)
                )
            kind, annotated = _session_annotation(arg.annotation, self.imports)
            if isinstance(arg.annotation, ast.Name) and arg.annotation.id in self.aliases:
                kind, annotated = self.aliases[arg.annotation.id], True
            elif isinstance(arg.annotation, ast.Name) and arg.annotation.id in self.imported:
                self.maybe.append((qualname, node, arg.arg, arg.annotation.id))
            if kind == "async":
                sessions[arg.arg] = "async"
            elif kind is not None:
                takes = True
                sessions[arg.arg] = kind
                default = defaults.get(arg.arg)
                if annotated or (
                    isinstance(default, ast.Call)
                    and _resolve(default.func, self.imports) in DEPENDS
                ):
                    depends = True
        if takes:
            self.found.append((qualname, isinstance(node, ast.AsyncFunctionDef), depends))
        self.nodes.append((qualname, node, sessions))
        self.prefix.extend([node.name, "<locals>"])
        self.generic_visit(node)
        del self.prefix[-2:]

    visit_FunctionDef = visit_AsyncFunctionDef = _def

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.prefix.append(node.name)
        holders = holder_attributes(node, self._session_kind)
        if not holders and not any(
            isinstance(s, ast.FunctionDef) and s.name == "__init__" for s in node.body
        ):  # a subclass of a repository in this module reads the same self.session
            for base in node.bases:
                if isinstance(base, ast.Name) and base.id in self.holder_classes:
                    holders = self.holder_classes[base.id]
        if holders and not self.prefix[:-1]:
            self.holder_classes[node.name] = holders
        self.classes.append((node, holders))
        self.generic_visit(node)
        self.classes.pop()
        self.prefix.pop()

    def _session_kind(self, annotation: Optional[ast.AST]) -> Optional[str]:
        if isinstance(annotation, ast.Name) and annotation.id in self.aliases:
            return self.aliases[annotation.id]
        return _session_annotation(annotation, self.imports)[0]


def _first_or(call: ast.Call, keyword: str) -> Optional[ast.AST]:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _has_params(function: ast.AST) -> bool:
    args = function.args  # type: ignore[attr-defined]
    return bool(args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg)


def _try_yield_close(statement: ast.AST, variable: str) -> bool:
    """``try: yield db`` / ``finally: db.close()`` (or ``await db.close()``)."""
    if not isinstance(statement, ast.Try) or statement.handlers or statement.orelse:
        return False
    body, final = statement.body, statement.finalbody
    if not (
        len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Yield)
    ):
        return False
    if not (isinstance(body[0].value.value, ast.Name) and body[0].value.value.id == variable):
        return False
    return _closes(final, variable)


def _try_create_yield_close(statement: ast.AST, variable: str) -> bool:
    """``try: db = F(); ...; yield db; ... finally: db.close()``: the creation inside ``try`` (the
    tutorial's test override), one ``yield db`` among the try's own statements, ``db`` never
    rebound."""
    if (
        not isinstance(statement, ast.Try)
        or statement.handlers
        or statement.orelse
        or not statement.body
    ):
        return False
    if not _closes(statement.finalbody, variable):
        return False
    yields = [
        s
        for s in statement.body[1:]
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Yield)
        and isinstance(s.value.value, ast.Name)
        and s.value.value.id == variable
    ]
    if len(yields) != 1:
        return False
    for node in _own(statement):
        if isinstance(node, (ast.Yield, ast.YieldFrom)) and node is not yields[0].value:
            return False
        if (
            isinstance(node, ast.Name)
            and node.id == variable
            and isinstance(node.ctx, ast.Store)
            and (node is not statement.body[0].targets[0])  # type: ignore[attr-defined]
        ):
            return False
    return True


def _closes(final: Sequence[ast.AST], variable: str) -> bool:
    """``finally: db.close()`` (or ``await db.close()``)."""
    if len(final) != 1 or not isinstance(final[0], ast.Expr):
        return False
    value = final[0].value
    if isinstance(value, ast.Await):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and not value.args
        and not value.keywords
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "close"
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id == variable
    )


def _own(function: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's own body (not of nested defs, lambdas or classes)."""
    stack = list(function.body) if not isinstance(function, ast.Lambda) else [function.body]  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        yield node
        for child in iter_child_nodes(node):
            if not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            ):
                stack.append(child)


def _local_names(function: ast.AST) -> Set[str]:
    args = function.args  # type: ignore[attr-defined]
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for node in _own(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _session_method(node: ast.AST, name: str) -> Optional[str]:
    """``name.method(...)`` (``name`` may be ``self.session``, see sqla_holders): the method."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            isinstance(node.func.value, ast.Name)
            and node.func.value.id == name
            or "." in name
            and isinstance(node.func.value, ast.Attribute)
            and dotted_name(node.func.value) == name
        )
    ):
        return node.func.attr
    return None


def _entity(node: ast.AST) -> bool:
    """``User`` / ``models.User`` (a mapped class), as _looks_like_entity."""
    if isinstance(node, ast.Name):
        return node.id[:1].isupper()
    if isinstance(node, ast.Attribute):
        return node.attr[:1].isupper() and not _entity(node.value)
    return False


def _passed(calls: Iterable[ast.Call]) -> Set[str]:
    """Names handed to other code as values (callbacks), outside FastAPI's async-aware slots."""
    names: Set[str] = set()
    for node in calls:
        callee = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if callee in ASYNC_AWARE:
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(argument, ast.Name):
                names.add(argument.id)
            elif isinstance(argument, ast.Attribute):
                names.add(argument.attr)
    return names
