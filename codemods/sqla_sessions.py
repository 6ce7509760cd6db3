"""The transform's session side: which names are sessions, `with Session(...)` in a coroutine,
Session annotations, and the session dependency shapes (-> `async with`).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider, ScopeProvider

from .base import GENEXP
from .sqla_facts import (
    ANNOTATED,
    ASYNC_SESSION_CLASSES,
    ASYNC_SESSION_MODULE,
    DEPENDENCY,
    ENGINE_CLASSES,
    GENERATOR_RETURNS,
    SESSION_CLASSES,
    STAYS_SYNC,
    _fix_commas,
    _name,
    _trailing,
)
from .sqla_holders import cst_holder_methods, receiver_name
from .sqla_scopes import async_scope, cst_scope_variable


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

    def _scope(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> Optional[cst.FunctionDef]:
        """A session scope (sqla_scopes) -> ``@asynccontextmanager async def``; None otherwise."""
        if (
            original.asynchronous is not None
            or original.name.value not in self._combined.factories
            or not any(statement is original for statement in self._module.body)
        ):
            return None
        variable = cst_scope_variable(original, self.imported_name)
        if variable is None:
            return None
        fits, returns = self._async_returns(original.returns)
        if not fits or not self._use(original, "contextlib", "asynccontextmanager"):
            return None
        self.drop_import_if_unused(original.decorators[0].decorator)
        self.rewrote()
        return async_scope(updated, variable, "asynccontextmanager").with_changes(returns=returns)

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

    def _async_returns(
        self, returns: Optional[cst.Annotation]
    ) -> Tuple[bool, Optional[cst.Annotation]]:
        """A session dependency's return annotation made async: (True, None) without one,
        ``Generator[Session, None, None]`` -> ``AsyncGenerator[AsyncSession, None]``,
        ``Iterator[Session]`` -> ``AsyncIterator[AsyncSession]``; (False, None): another one."""
        if returns is None:
            return True, None
        node = returns.annotation
        if (
            not isinstance(node, cst.Subscript)
            or not node.slice
            or not isinstance(node.slice[0].slice, cst.Index)
        ):
            return False, None
        name = self.imported_name(node.value) or ""
        module, _, last = name.rpartition(".")
        if module not in ("typing", "collections.abc") or last not in GENERATOR_RETURNS:
            return False, None
        item = node.slice[0].slice.value
        kind = self._plain_session(cst.Annotation(item))
        if kind is not None and not self._use(item, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
            return False, None
        if not self._use(node.value, module, GENERATOR_RETURNS[last]):
            return False, None
        self.drop_import_if_unused(node.value)
        if kind is not None:  # `Iterator[Session]`; `Iterator[UserRepository]` keeps its item
            self.drop_import_if_unused(item)
            item = cst.Name("AsyncSession")
        elements = [cst.SubscriptElement(cst.Index(item))]
        if last == "Generator":
            elements.append(cst.SubscriptElement(cst.Index(cst.Name("None"))))
        return True, returns.with_changes(
            annotation=cst.Subscript(
                value=cst.Name(GENERATOR_RETURNS[last]), slice=_fix_subscript_commas(elements)
            )
        )

    def _dependency(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> Optional[cst.FunctionDef]:
        """``db = F(); try: yield db; finally: db.close()`` (F a session factory) ->
        ``async with F() as db: yield db``."""
        body = updated.body.body if isinstance(updated.body, cst.IndentedBlock) else ()
        if original.params.params:
            return None
        if original.returns is not None and not (
            len(body) == 1 and isinstance(body[0], (cst.With, cst.Try))
        ):
            return None
        result = None
        if len(body) == 1 and isinstance(body[0], cst.With):
            result = self._with_dependency(original, updated, body[0])
        elif len(body) == 1 and isinstance(body[0], cst.Try):
            result = self._try_dependency(updated, body[0])
        if result is not None or original.returns is not None:
            if result is not None and original.returns is not None:
                ok, returns = self._async_returns(original.returns)
                result = result.with_changes(returns=returns) if ok else None
            return result
        if len(body) != 2:
            return None
        first, second = body
        create = m.SimpleStatementLine(
            body=[
                m.Assign(
                    targets=[m.AssignTarget(target=m.Name())], value=m.Call(func=m.Name(), args=())
                )
            ]
        )
        if not m.matches(first, create) or not isinstance(second, cst.Try):
            return None
        assign = first.body[0]
        variable = assign.targets[0].target.value
        factory = assign.value.func.value
        if factory not in self._combined.factories:
            return None
        shape = m.Try(
            body=m.IndentedBlock(
                body=[m.SimpleStatementLine(body=[m.Expr(m.Yield(value=m.Name(variable)))])]
            ),
            handlers=(),
            orelse=None,
            finalbody=m.Finally(
                body=m.IndentedBlock(
                    body=[
                        m.SimpleStatementLine(
                            body=[
                                m.Expr(
                                    _attr_call_matcher(variable, "close")
                                    | m.Await(_attr_call_matcher(variable, "close"))
                                )
                            ]
                        )
                    ]
                )
            ),
        )
        if not m.matches(second, shape):
            self.report(
                original.name,
                DEPENDENCY,
                f"session dependency `{original.name.value}` has a shape asyncfix does not convert",
                "write it as `async with SessionLocal() as db: yield db`",
            )
            return None
        block = cst.With(
            items=[cst.WithItem(item=assign.value, asname=cst.AsName(name=cst.Name(variable)))],
            body=second.body,
            asynchronous=cst.Asynchronous(),
            leading_lines=first.leading_lines,
        )
        self.rewrote()
        return updated.with_changes(
            asynchronous=cst.Asynchronous(), body=updated.body.with_changes(body=[block])
        )

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        """``db = F()`` then ``try: ... finally: db.close()`` in a coroutine (F a session factory)
        -> ``async with F() as db: ...``."""
        scope = self.get_metadata(ScopeProvider, original, None)
        function = getattr(scope, "node", None)
        if not isinstance(function, cst.FunctionDef) or not self.is_async_def(function):
            return updated
        if m.findall(function, m.Yield()):  # a dependency: its shapes are _dependency's
            return updated
        create = m.SimpleStatementLine(
            body=[
                m.Assign(
                    targets=[m.AssignTarget(target=m.Name())], value=m.Call(func=m.Name(), args=())
                )
            ]
        )
        body = list(updated.body)
        changed = False
        index = 0
        while index + 1 < len(body):
            first, second = body[index], body[index + 1]
            if (
                m.matches(first, create)
                and isinstance(second, cst.Try)
                and not second.handlers
                and second.orelse is None
            ):
                assign = first.body[0]
                variable = assign.targets[0].target.value
                closes = m.Finally(
                    body=m.IndentedBlock(
                        body=[
                            m.SimpleStatementLine(
                                body=[
                                    m.Expr(
                                        _attr_call_matcher(variable, "close")
                                        | m.Await(_attr_call_matcher(variable, "close"))
                                    )
                                ]
                            )
                        ]
                    )
                )
                if (
                    assign.value.func.value in self._combined.factories
                    and m.matches(second.finalbody, closes)
                    and not self.ignored(first)
                ):
                    body[index : index + 2] = [
                        cst.With(
                            items=[
                                cst.WithItem(
                                    item=assign.value, asname=cst.AsName(name=cst.Name(variable))
                                )
                            ],
                            body=second.body,
                            asynchronous=cst.Asynchronous(),
                            leading_lines=first.leading_lines,
                        )
                    ]
                    changed = True
                    self.rewrote()
            index += 1
        return updated.with_changes(body=body) if changed else updated

    def _try_dependency(
        self, updated: cst.FunctionDef, block: cst.Try
    ) -> Optional[cst.FunctionDef]:
        """``try: db = F(); ...; yield db; ... finally: db.close()`` (the creation inside ``try``,
        as the tutorial's test override) -> ``async with F() as db: ...; yield db; ...``."""
        create = m.SimpleStatementLine(
            body=[
                m.Assign(
                    targets=[m.AssignTarget(target=m.Name())], value=m.Call(func=m.Name(), args=())
                )
            ]
        )
        inner = block.body.body
        if block.handlers or block.orelse is not None or block.finalbody is None or len(inner) < 2:
            return None
        if not m.matches(inner[0], create):
            return None
        assign = inner[0].body[0]
        variable = assign.targets[0].target.value
        if assign.value.func.value not in self._combined.factories:
            return None
        closes = m.Finally(
            body=m.IndentedBlock(
                body=[
                    m.SimpleStatementLine(
                        body=[
                            m.Expr(
                                _attr_call_matcher(variable, "close")
                                | m.Await(_attr_call_matcher(variable, "close"))
                            )
                        ]
                    )
                ]
            )
        )
        if not m.matches(block.finalbody, closes):
            return None
        with_block = cst.With(
            items=[cst.WithItem(item=assign.value, asname=cst.AsName(name=cst.Name(variable)))],
            body=block.body.with_changes(body=inner[1:]),
            asynchronous=cst.Asynchronous(),
            leading_lines=block.leading_lines,
        )
        self.rewrote()
        return updated.with_changes(
            asynchronous=cst.Asynchronous(), body=updated.body.with_changes(body=[with_block])
        )

    def _with_dependency(
        self, original: cst.FunctionDef, updated: cst.FunctionDef, block: cst.With
    ):
        """``with F() as db: yield db`` / ``with Session(engine) as db: yield db`` -> ``async with``
        (``AsyncSession(engine, expire_on_commit=False)`` for the Session class)."""
        shape = m.With(
            items=[m.WithItem(item=m.Call(func=m.Name()), asname=m.AsName(name=m.Name()))],
            body=m.IndentedBlock(
                body=[m.SimpleStatementLine(body=[m.Expr(m.Yield(value=m.DoesNotMatch(None)))])]
            ),
        )
        if not m.matches(block, shape):
            return None
        item = block.items[0]
        variable = item.asname.name.value
        value = block.body.body[0].body[0].value.value
        if isinstance(value, cst.Name) and value.value != variable:
            return None  # `yield db`, or what is built on it (`yield UserRepository(db)`)
        call = item.item
        original_call = original.body.body[0].items[0].item
        name = self.imported_name(original_call.func)
        if name in SESSION_CLASSES:
            kind = name.split(".")[0]
            if not self._use(original_call, ASYNC_SESSION_MODULE[kind], "AsyncSession"):
                return None
            self.drop_import_if_unused(original_call.func)
            args = list(call.args)
            if not any(
                a.keyword is not None and a.keyword.value == "expire_on_commit" for a in args
            ):
                args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
            call = call.with_changes(
                func=cst.Name("AsyncSession"), args=_fix_commas(args, _trailing(call.args))
            )
        elif call.args or call.func.value not in self._combined.factories:
            return None
        self.rewrote()
        new_block = block.with_changes(
            items=[item.with_changes(item=call)], asynchronous=cst.Asynchronous()
        )
        return updated.with_changes(
            asynchronous=cst.Asynchronous(), body=updated.body.with_changes(body=[new_block])
        )


def _own_withs(node: cst.CSTNode) -> Iterable[cst.With]:
    """The ``with`` statements of a function body, not of nested defs, lambdas or classes."""
    for child in node.children:
        if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(child, cst.With):
            yield child
        yield from _own_withs(child)


def _attr_call_matcher(variable: str, method: str):
    return m.Call(func=m.Attribute(value=m.Name(variable), attr=m.Name(method)), args=())


def _fix_subscript_commas(elements: Sequence[cst.SubscriptElement]) -> List[cst.SubscriptElement]:
    return [
        e.with_changes(
            comma=(
                cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                if i < len(elements) - 1
                else cst.MaybeSentinel.DEFAULT
            )
        )
        for i, e in enumerate(elements)
    ]
