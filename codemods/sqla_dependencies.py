"""The transform's session dependencies and scopes: `db = F(); try: yield db; finally:
db.close()` and its kin -> `async with F() as db: yield db`, a session scope ->
`@asynccontextmanager async def`, and their return annotations made async.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .sqla_facts import ASYNC_SESSION_MODULE, DEPENDENCY, GENERATOR_RETURNS, SESSION_CLASSES
from .sqla_nodes import _fix_commas, _trailing
from .sqla_scope_rewrite import async_scope, cst_scope_variable


class DependencyRewrites:
    """Mixin of SqlalchemyToAsync (needs Codemod's helpers, ``_use`` and SessionRewrites'
    ``_plain_session``)."""

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
