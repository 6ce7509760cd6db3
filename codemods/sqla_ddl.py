"""The transform's DDL side: `metadata.create_all` in a coroutine -> `async with
engine.begin()`, at module level moved into the app's lifespan / a test override / an
`asyncio.run`; `engine.dispose()` in a pytest hook; the anyio backend --migrate needs.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider, ScopeProvider

from .sqla_facts import CLASH, DDL, _is_test_module
from .sqla_nodes import _fix_commas, _trailing
from .sqla_testdb import WithDdlFirst, override_functions


class DdlRewrites:
    """Mixin of SqlalchemyToAsync."""

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        """``X.metadata.create_all(engine)`` in a coroutine -> ``async with engine.begin() as
        conn: await conn.run_sync(X.metadata.create_all)``."""
        disposal = self._disposal(original, updated)
        if disposal is not None:
            return disposal
        ddl = self._ddl_call(original)
        if ddl is None:
            return updated
        scope = self.get_metadata(ScopeProvider, original, None)
        function = getattr(scope, "node", None)
        if (
            not isinstance(function, cst.FunctionDef)
            or not self.is_async_def(function)
            or self.ignored(original)
        ):
            return updated
        metadata, method, engine = ddl
        code = self._module.code_for_node
        block = cst.parse_statement(
            f"async with {code(engine)}.begin() as conn:\n    await conn.run_sync({code(metadata)}.{method})\n"
        )
        self.rewrote()
        return block.with_changes(leading_lines=updated.leading_lines)

    # -- module-level create_all -> lifespan / asyncio.run -------------------------------------

    def _disposal(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> Optional[cst.BaseStatement]:
        """``engine.dispose()`` in a pytest hook (outside any loop) -> ``asyncio.run(engine.dispose())``."""
        if not self._combined.disposals or not m.matches(
            original, m.SimpleStatementLine(body=[m.Expr(m.Call())])
        ):
            return None
        line = self.get_metadata(PositionProvider, original).start.line
        if (self.file.filename, line) not in self._combined.disposals or self.ignored(original):
            return None
        self.add_needed_import("asyncio")
        self.rewrote()
        expression = updated.body[0]
        run = cst.Call(
            func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("run")),
            args=[cst.Arg(expression.value)],
        )
        return updated.with_changes(body=[expression.with_changes(value=run)])

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        updated = self._module_ddl(original, updated)
        if self._combined.runner != self.file.filename:
            return updated
        defined = any(
            m.matches(statement, m.FunctionDef(name=m.Name("anyio_backend")))
            for statement in updated.body
        )
        if defined:
            return updated
        # --migrate made fixtures or tests async: anyio's pytest plugin (installed with anyio, a
        # FastAPI dependency) runs them, on asyncio, for the whole session.
        self.add_needed_import("pytest")
        fixture = cst.parse_statement(
            '@pytest.fixture(scope="session", autouse=True)\n'
            "def anyio_backend():\n"
            "    # async fixtures and tests run on anyio's pytest plugin, on asyncio (asyncfix --migrate)\n"
            '    return "asyncio"\n'
        ).with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        self.require("anyio")
        self.rewrote()
        return updated.with_changes(body=[*updated.body, fixture])

    def _module_ddl(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if len(original.body) != len(updated.body):
            return updated
        ddl: List[int] = []
        app_index: Optional[int] = None
        for index, statement in enumerate(original.body):
            if self._ddl_call(statement) is not None:
                ddl.append(index)
            elif app_index is None and self._app_call(statement) is not None:
                app_index = index
        if not ddl:
            return updated
        body = list(updated.body)
        if app_index is not None:
            return self._into_lifespan(original, updated, body, ddl, app_index)
        if _is_test_module(self.file.filename):
            into = self._into_override(original, updated, body, ddl)
            return (
                into if into is not None else self._into_asyncio_run(original, updated, body, ddl)
            )
        for index in ddl:
            self.report(
                original.body[index],
                DDL,
                "metadata DDL at import time needs a running loop once the engine is async",
                "move it into the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`",
            )
        return updated

    def _ddl_call(
        self, statement: cst.CSTNode
    ) -> Optional[Tuple[cst.BaseExpression, str, cst.BaseExpression]]:
        """(metadata expression, create_all/drop_all, engine) of ``X.metadata.create_all(bind=e)``."""
        pattern = m.SimpleStatementLine(
            body=[
                m.Expr(
                    m.Call(
                        func=m.Attribute(
                            value=m.Attribute(attr=m.Name("metadata")),
                            attr=m.Name("create_all") | m.Name("drop_all"),
                        )
                    )
                )
            ]
        )
        if not m.matches(statement, pattern):
            return None
        call = statement.body[0].value
        engine = None
        if len(call.args) == 1:
            arg = call.args[0]
            if arg.keyword is None or arg.keyword.value == "bind":
                engine = arg.value
        if engine is None:
            return None
        return call.func.value, call.func.attr.value, engine

    def _app_call(self, statement: cst.CSTNode) -> Optional[cst.Call]:
        if m.matches(
            statement,
            m.SimpleStatementLine(
                body=[m.Assign(targets=[m.AssignTarget(m.Name())], value=m.Call())]
            ),
        ):
            call = statement.body[0].value
            if self.imported_name(call.func) == "fastapi.FastAPI":
                return call
        return None

    def _ddl_block(self, original: cst.Module, ddl: Sequence[int]) -> List[cst.BaseStatement]:
        code = original.code_for_node
        groups: Dict[str, List[str]] = {}
        for index in ddl:
            metadata, method, engine = self._ddl_call(original.body[index])
            groups.setdefault(code(engine), []).append(
                f"await conn.run_sync({code(metadata)}.{method})"
            )
        lines: List[str] = []
        for engine, calls in groups.items():
            lines.append(
                f"async with {engine}.begin() as conn:\n" + "".join(f"    {c}\n" for c in calls)
            )
        return [cst.parse_statement(text) for text in lines]

    def _into_lifespan(self, original, updated, body, ddl, app_index):
        app_statement = original.body[app_index]
        call = app_statement.body[0].value
        if any(
            a.keyword is not None and a.keyword.value in ("lifespan", "on_startup")
            for a in call.args
        ) or ("on_event" in self.file.source):
            for index in ddl:
                self.report(
                    original.body[index],
                    DDL,
                    "metadata DDL at import time, and the app already has startup code",
                    "run it in the app's lifespan: `async with engine.begin() as conn: await conn.run_sync(...)`",
                )
            return updated
        if self._bound_otherwise(app_statement, "lifespan", {"lifespan"}):
            self.report(
                app_statement,
                CLASH,
                "`lifespan` is already bound in this module",
                "rename it, then rerun asyncfix",
            )
            return updated
        self.add_needed_import("contextlib", "asynccontextmanager")
        function = cst.parse_statement(
            "@asynccontextmanager\nasync def lifespan(app):\n    yield\n"
        )
        comments = [
            line for index in ddl for line in original.body[index].leading_lines if line.comment
        ]
        function = function.with_changes(
            params=function.params.with_changes(
                params=[cst.Param(cst.Name("app"), annotation=cst.Annotation(call.func))]
            ),
            body=cst.IndentedBlock(
                body=[*self._ddl_block(original, ddl), cst.parse_statement("yield\n")]
            ),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments],
        )
        new_call = updated.body[app_index].body[0].value
        new_call = new_call.with_changes(
            args=_fix_commas(
                [*new_call.args, cst.Arg(keyword=cst.Name("lifespan"), value=cst.Name("lifespan"))],
                _trailing(new_call.args),
            )
        )
        app_line = updated.body[app_index]
        app_line = app_line.with_changes(
            body=[app_line.body[0].with_changes(value=new_call)],
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        result = []
        for index, statement in enumerate(body):
            if index in ddl:
                continue
            if index == app_index:
                result.extend([function, app_line])
                continue
            result.append(statement)
        self.rewrote(len(ddl))
        return updated.with_changes(body=result)

    def _into_override(self, original, updated, body, ddl) -> Optional[cst.Module]:
        """The test module's tables created in its dependency override, on the request's loop
        (sqla_testdb); None when the module has no such override."""
        engines = set()
        for index in ddl:
            engine = self._ddl_call(original.body[index])[2]
            if not isinstance(engine, cst.Name):
                return None
            engines.add(engine.value)
        names = override_functions(original, engines, ddl)
        if not names:
            return None
        kept = [statement for index, statement in enumerate(body) if index not in ddl]
        adding = WithDdlFirst(names, self._ddl_block(original, ddl))
        result = updated.with_changes(body=kept).visit(adding)
        if adding.done != len(names):  # an override that stayed sync: keep the other form
            return None
        self.rewrote(len(ddl))
        return result

    def _into_asyncio_run(self, original, updated, body, ddl):
        name = "create_tables"
        if self._bound_otherwise(original.body[ddl[0]], name, ()):
            self.report(
                original.body[ddl[0]],
                CLASH,
                f"`{name}` is already bound in this module",
                "rename it, then rerun asyncfix",
            )
            return updated
        self.add_needed_import("asyncio")
        function = cst.parse_statement(f"async def {name}():\n    pass\n")
        function = function.with_changes(
            body=cst.IndentedBlock(body=self._ddl_block(original, ddl)),
            leading_lines=(
                [*original.body[ddl[0]].leading_lines, cst.EmptyLine()]
                if original.body[ddl[0]].leading_lines
                else [cst.EmptyLine(), cst.EmptyLine()]
            ),
        )
        run = cst.parse_statement(f"asyncio.run({name}())\n").with_changes(
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()]
        )
        result = []
        for index, statement in enumerate(body):
            if index == ddl[0]:
                result.extend([function, run])
            elif index not in ddl:
                result.append(statement)
        self.rewrote(len(ddl))
        return updated.with_changes(body=result)
