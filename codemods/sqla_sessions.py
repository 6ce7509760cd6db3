"""The transform's session side: which names are sessions, `with Session(...)` in a coroutine,
and Session annotations (the dependency shapes: sqla_dependencies).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider, ScopeProvider

from .base import GENEXP
from .sqla_facts import (
    ANNOTATED,
    ASYNC_SESSION_CLASSES,
    ASYNC_SESSION_MODULE,
    ENGINE_CLASSES,
    SESSION_CLASSES,
    STAYS_SYNC,
)
from .sqla_holder_rewrite import cst_holder_methods, receiver_name
from .sqla_nodes import _fix_commas, _name, _trailing


class SessionRewrites:
    """Mixin of SqlalchemyToAsync (needs Codemod's helpers and ``_use``)."""

    # Which names in a function are sessions

    def _session_kind(self, annotation: Optional[cst.Annotation]) -> Optional[str]:
        """The kind of sync Session an annotation stands for: ``Session``, a Session alias
        (``SessionDep``), ``Annotated[Session, Depends(...)]``."""
        if annotation is None:
            return None
        node = annotation.annotation
        name = self.imported_name(node)
        if name in SESSION_CLASSES:
            return name.split(".")[0]
        if isinstance(node, cst.Name) and node.value in self._aliases:
            return self._aliases[node.value]
        inner = self._annotated_session(node)
        return None if inner is None else self.imported_name(inner).split(".")[0]

    def _annotated_session(self, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        """The ``Session`` of ``Annotated[Session, ...]``."""
        if (
            isinstance(node, cst.Subscript)
            and self.imported_name(node.value) in ANNOTATED
            and node.slice
        ):
            first = node.slice[0].slice
            if isinstance(first, cst.Index) and self.imported_name(first.value) in SESSION_CLASSES:
                return first.value
        return None

    def leave_Subscript(
        self, original: cst.Subscript, updated: cst.Subscript
    ) -> cst.BaseExpression:
        """``Annotated[Session, Depends(get_db)]`` (an alias, a parameter) -> ``Annotated[AsyncSession, ...]``."""
        inner = self._annotated_session(original)
        if inner is None or self.ignored(original):
            return updated
        kind = self.imported_name(inner).split(".")[0]
        if not self._use(inner, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
            return updated
        self.drop_import_if_unused(inner)
        first = updated.slice[0]
        self.rewrote()
        return updated.with_changes(
            slice=[
                first.with_changes(slice=first.slice.with_changes(value=cst.Name("AsyncSession"))),
                *updated.slice[1:],
            ]
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        inherited: Dict[str, str] = {}
        for base in node.bases:
            if isinstance(base.value, cst.Name):
                inherited = self._holder_classes.get(base.value.value, inherited)
        init, stored, methods = cst_holder_methods(node, self._session_kind, inherited)
        if init is not None:
            self._holder_inits.add(id(init))
        if stored:
            self._holder_classes.setdefault(node.name.value, stored)
        self._holder_methods.update(methods)

    def _session_names(self, function: cst.FunctionDef) -> Dict[str, str]:
        key = id(function)
        if key not in self._sessions:
            names: Dict[str, str] = dict(self._holder_methods.get(key, {}))
            params = function.params
            for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
                kind = self._session_kind(param.annotation)
                if kind:
                    names[param.name.value] = kind
            if self.is_async_def(function):  # `with Session(engine) as s:` in a coroutine
                for block in _own_withs(function.body):
                    session = self._with_session(block)
                    if session is not None:
                        names[session[0]] = session[1]
            self._sessions[key] = names
        return self._sessions[key]

    def _session_of(
        self, call: cst.Call, receiver: cst.BaseExpression
    ) -> Tuple[Optional[str], Any]:
        """(kind, coroutine) when ``receiver`` is a Session parameter of the coroutine
        evaluating ``call``."""
        name = receiver_name(receiver)
        if name is None:
            return None, None
        function = self.coroutine_of(call)
        if function is GENEXP:
            scope = self.get_metadata(ScopeProvider, call, None)
            while scope is not None and not isinstance(scope.node, cst.FunctionDef):
                scope = getattr(scope, "parent", None)
            if scope is not None and name in self._session_names(scope.node):
                return self._session_names(scope.node)[name], GENEXP
            return None, None
        if function is None:
            return None, None
        kind = self._session_names(function).get(name)
        return kind, function

    # -- `with Session(engine) as s:` in a coroutine -> `async with AsyncSession(...)` ----------

    def _with_session(self, block: cst.With) -> Optional[Tuple[str, str]]:
        """(variable, kind) of ``with Session(e) as s`` / ``with Factory() as s`` (one item)."""
        if block.asynchronous is not None or len(block.items) != 1:
            return None
        item = block.items[0]
        if (
            item.asname is None
            or not isinstance(item.asname.name, cst.Name)
            or not isinstance(item.item, cst.Call)
        ):
            return None
        call = item.item
        name = self.imported_name(call.func)
        if name in SESSION_CLASSES:
            return item.asname.name.value, name.split(".")[0]
        last = call.func.attr.value if isinstance(call.func, cst.Attribute) else _name(call.func)
        if not call.args and last in self._combined.factories:
            return item.asname.name.value, "sqlalchemy"
        return None

    def _connection_block(self, block: cst.With) -> Optional[str]:
        """The variable of a ``with engine.connect() as conn`` block the scan accepted."""
        connections = getattr(self._combined, "connections", frozenset())
        if not connections or len(block.items) != 1 or block.items[0].asname is None:
            return None
        line = self.get_metadata(PositionProvider, block).start.line
        name = block.items[0].asname.name
        if (self.file.filename, line) in connections and isinstance(name, cst.Name):
            return name.value
        return None

    def visit_With(self, node: cst.With) -> None:
        variable = self._connection_block(node)
        if variable is not None:
            self._connection_vars.append(variable)

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement:
        variable = self._connection_block(original)
        if variable is not None:
            self._connection_vars.pop()
            scope = self.get_metadata(ScopeProvider, original, None)
            function = getattr(scope, "node", None)
            if isinstance(function, cst.FunctionDef) and self.is_async_def(function):
                self.rewrote()
                return updated.with_changes(asynchronous=cst.Asynchronous())
            return updated
        session = self._with_session(original)
        scope = self.get_metadata(ScopeProvider, original, None)
        function = getattr(scope, "node", None)
        if (
            session is None
            or not isinstance(function, cst.FunctionDef)
            or not self.is_async_def(function)
        ):
            return updated
        if self.ignored(original):
            return updated
        original_call = original.items[0].item
        call = updated.items[0].item
        if self.imported_name(original_call.func) in SESSION_CLASSES:
            if not self._use(original_call, ASYNC_SESSION_MODULE[session[1]], "AsyncSession"):
                return updated
            self.drop_import_if_unused(original_call.func)
            args = list(call.args)
            if not any(
                a.keyword is not None and a.keyword.value == "expire_on_commit" for a in args
            ):
                args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
            call = call.with_changes(
                func=cst.Name("AsyncSession"), args=_fix_commas(args, _trailing(call.args))
            )
        self.rewrote()
        return updated.with_changes(
            items=[updated.items[0].with_changes(item=call)], asynchronous=cst.Asynchronous()
        )

    # -- functions: annotations, the dependency, seeds that stayed sync ----------------------

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.BaseStatement:
        scope = self._scope(original, updated)
        if scope is not None:
            return scope
        sessions = self._session_names(original)
        if id(original) in self._holder_inits:  # a repository's __init__ stays a plain def
            return self._annotations(original, updated)
        if sessions:
            if not self.is_async_def(original):
                self.report(
                    original.name,
                    STAYS_SYNC,
                    f"`{original.name.value}` takes a Session but cannot become async",
                    "restructure it so that it can be `async def`",
                )
                return updated
            return self._annotations(original, updated)
        dependency = self._dependency(original, updated)
        return updated if dependency is None else dependency

    def _annotations(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        new_params = []
        changed = False
        for old, new in zip(original.params.params, updated.params.params):
            kind = self._plain_session(old.annotation)
            if (
                kind is None
                and old.annotation is not None
                and (self.imported_name(old.annotation.annotation) in ENGINE_CLASSES)
                and self._opens_session_on(original, old.name.value)
                and self._use(old, "sqlalchemy.ext.asyncio", "AsyncEngine")
            ):
                # `def ping(db_engine: Engine)`, made async because it is handed the engine
                self.drop_import_if_unused(old.annotation.annotation)
                new_params.append(
                    new.with_changes(annotation=cst.Annotation(cst.Name("AsyncEngine")))
                )
                changed = True
                continue
            if kind is None:
                new_params.append(new)
                continue
            module = ASYNC_SESSION_MODULE[kind]
            if not self._use(old, module, "AsyncSession"):
                new_params.append(new)
                continue
            self.drop_import_if_unused(old.annotation.annotation)
            new_params.append(new.with_changes(annotation=cst.Annotation(cst.Name("AsyncSession"))))
            changed = True
        kwonly = []
        for old, new in zip(original.params.kwonly_params, updated.params.kwonly_params):
            kind = self._plain_session(old.annotation)
            if kind is not None and self._use(old, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
                self.drop_import_if_unused(old.annotation.annotation)
                new = new.with_changes(annotation=cst.Annotation(cst.Name("AsyncSession")))
                changed = True
            kwonly.append(new)
        if not changed:
            return updated
        self.rewrote()
        return updated.with_changes(
            params=updated.params.with_changes(params=new_params, kwonly_params=kwonly)
        )

    def _opens_session_on(self, function: cst.FunctionDef, parameter: str) -> bool:
        """``Session(parameter)`` / ``AsyncSession(parameter)`` in ``function``: an engine parameter."""
        for call in m.findall(
            function, m.Call(args=[m.Arg(value=m.Name(parameter)), m.ZeroOrMore()])
        ):
            if self.imported_name(call.func) in SESSION_CLASSES | ASYNC_SESSION_CLASSES:
                return True
        return False

    def _plain_session(self, annotation: Optional[cst.Annotation]) -> Optional[str]:
        """``Session`` itself (an alias or ``Annotated[...]`` converts where it is written)."""
        name = self.imported_name(annotation.annotation) if annotation is not None else None
        return name.split(".")[0] if name in SESSION_CLASSES else None


def _own_withs(node: cst.CSTNode) -> Iterable[cst.With]:
    """The ``with`` statements of a function body, not of nested defs, lambdas or classes."""
    for child in node.children:
        if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(child, cst.With):
            yield child
        yield from _own_withs(child)
