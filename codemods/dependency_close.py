"""dependency_close: a FastAPI yield dependency releases what it created, on success and on error.

Why: a dependency that yields a session, connection or client and never closes it leaks one per
request (FastAPI, "Dependencies with yield":
https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/). Code after a bare
``yield`` does not run when the route raises; only a ``finally`` does.

Before -> after::

    async def get_db():                     async def get_db():
        db = SessionLocal()                     db = SessionLocal()
        try:                                    try:
            yield db                    ->          yield db
        finally:                                finally:
            pass  # Missing db.close()              db.close()

Which functions: the ones the project uses as dependencies, found across files in the first pass
(``Depends(f)``, ``Security(f)``, ``dependencies=[Depends(f)]``, ``app.dependency_overrides[k] = f``,
``monkeypatch.setitem(app.dependency_overrides, k, f)``; imported, aliased, relative and
re-exported names), and generators decorated with ``contextlib.contextmanager`` /
``asynccontextmanager``. Their shape must be: ``x = <call>(...)`` in the function body, then
``yield x`` (bare, or directly in a ``try``). Then:

- no ``try`` -> the ``yield`` (and what follows it) is wrapped in ``try: ... finally: <release>``;
- ``finally: pass`` or a ``finally`` without the release -> the release is added (a comment on the
  ``pass`` that talks about the missing ``close`` is dropped, any other comment is kept);
- the release only after the ``yield``, in ``else`` or in ``except`` -> it moves into ``finally``.

The release is the one the code already uses if it has one; otherwise the resource's type
decides (not the ``def``): ``x.close()`` for SQLAlchemy ``Session`` and ``sessionmaker`` factories,
``httpx.Client``, ``requests.Session``, sqlite3/psycopg/pymysql connections, sync redis clients,
``open()``; ``await x.close()`` for ``AsyncSession`` / ``async_sessionmaker`` factories, aiohttp,
asyncpg and aiosqlite; ``await x.aclose()`` for ``httpx.AsyncClient`` and ``redis.asyncio``; for a
project class, the ``close``/``aclose`` it (or a project base class) defines, awaited when it is an
``async def``.

Not rewritten: dependencies that already release in ``finally`` (or pass the resource to a call
there), ``with``/``async with`` forms, resources that come from elsewhere (a parameter, a
module-level pool, ``pool.acquire()``), generators that are not dependencies, more than one
``yield``. Reported instead (DEP001): a resource whose release asyncfix cannot tell (an unknown
class), one that needs ``await`` in a sync generator, one created inside the ``try``, a release
that happens on some paths only or through another call. Reported (DEP002): an ``except`` around
the ``yield`` of a dependency that swallows the exception (FastAPI 0.110+ requires re-raising).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import libcst as cst
import libcst.matchers as m
from libcst.metadata import QualifiedNameSource, ScopeProvider

from . import syntax
from .base import Codemod
from .callgraph import collect_module
from .dependency_edit import (
    block_of,
    class_like,
    else_without,
    reblock,
    release_statement,
    scan_calls,
    uses_name,
    without_release,
    yields_name,
)
from .dependency_facts import (
    CONTEXT_MANAGERS,
    KNOWN_RELEASES,
    LEAK,
    SWALLOW,
    absolute_names,
    class_release,
    combine_facts,
    merge_facts,
    modules_of,
)
from .fact_gates import DependencyCloseGate


class DependencyClose(DependencyCloseGate, Codemod):
    DESCRIPTION = "yield dependencies release what they create in finally (close/aclose)"
    CODES = {
        LEAK: (
            "A dependency (or @contextmanager generator) creates a resource, yields it, and does\n"
            "not release it on every path: every request that raises leaks it. asyncfix adds the\n"
            "release in `finally` where it knows it; it reports instead when:\n"
            "- it cannot tell how the object is released (a class it does not know): add\n"
            "  `finally: x.close()` (or `await x.aclose()`...) yourself;\n"
            "- the release needs `await` but the generator is a sync `def`: make it `async def`;\n"
            "- the resource is created inside the `try`: create it before the `try`, so `finally`\n"
            "  never sees an unbound name;\n"
            "- the release happens on some paths only (inside an `if`) or through another call:\n"
            "  move it into `finally`."
        ),
        SWALLOW: (
            "An `except` around the `yield` of a FastAPI dependency does not re-raise. Since\n"
            "FastAPI 0.110 the exception must be re-raised: otherwise the client gets a 500 and\n"
            "nothing is logged. End the handler with `raise` (or raise an HTTPException)."
        ),
    }

    # -- first pass --

    # -- transform --

    def visit_Module(self, node: cst.Module) -> None:
        root = self.file.project.root
        filename = self.file.filename
        self._modules = modules_of(filename, root)
        self._package = os.path.basename(filename) == "__init__.py"
        local: Optional[Mapping[str, Any]] = None
        try:  # this file's own facts: a single file (stdin, tests) has no project index
            tree = syntax.parse(self.file.source)
            source = self.file.source.encode()
            own = type(self).collect(tree, filename, source, collect_module(tree, filename, source))
            local = combine_facts({filename: own}, root) if own else None
        except (SyntaxError, ValueError):
            local = None
        self._facts = merge_facts(self.file.project.get(self.NAME) or {}, local or {})
        self._qualnames: Dict[int, str] = {}
        for statement in node.body:
            if isinstance(statement, cst.FunctionDef):
                self._qualnames[id(statement)] = statement.name.value
            elif isinstance(statement, cst.ClassDef):
                for item in statement.body.body:
                    if isinstance(item, cst.FunctionDef):
                        self._qualnames[id(item)] = f"{statement.name.value}.{item.name.value}"

    def _is_dependency(self, node: cst.FunctionDef) -> bool:
        qualname = self._qualnames.get(id(node))
        if qualname is None:
            return False
        return any(
            f"{module}.{qualname}" in self._facts["dependencies"] for module in self._modules
        )

    def _is_context_manager(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            target = decorator.decorator
            if (
                isinstance(target, (cst.Name, cst.Attribute))
                and self.imported_name(target) in CONTEXT_MANAGERS
            ):
                return True
        return False

    # what a name refers to, through imports, re-exports and this module

    def _names_of(self, node: cst.BaseExpression) -> List[str]:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return []
        found: List[str] = []
        for qualified in scope.get_qualified_names_for(node):
            if qualified.source is QualifiedNameSource.LOCAL:
                found.extend(absolute_names(":" + qualified.name, self._modules, False))
            elif qualified.source is QualifiedNameSource.IMPORT and qualified.name.startswith("."):
                found.extend(absolute_names(qualified.name, self._modules, self._package))
            else:
                found.append(qualified.name)
        aliases = self._facts["aliases"]
        result: List[str] = []
        for name in found:
            for _ in range(8):  # re-export chains; bounded against cycles
                if name in result:
                    break
                result.append(name)
                if name not in aliases:
                    break
                name = aliases[name]
        return result

    def _known_release(self, callee: cst.BaseExpression, awaited: bool, is_async: bool):
        """(method, awaited) for the object ``callee(...)`` returns; None when it is known not
        to be a resource (a project class without close); "?" when unknown."""
        for name in self._names_of(callee):
            if name in KNOWN_RELEASES:
                release = KNOWN_RELEASES[name]
                if release[1] != awaited and name in ("asyncpg.connect", "aiosqlite.connect"):
                    continue  # not awaited: a coroutine / a context manager, not the connection
                return release
            if awaited:
                continue
            kind = self._facts["factories"].get(name)
            if kind is not None:
                return {"sync": ("close", False), "async": ("close", True)}.get(kind, "?")
            if name in self._facts["classes"]:
                return class_release(self._facts, name, is_async, set())
        return "?"

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        dependency = self._is_dependency(original)
        if not (dependency or self._is_context_manager(original)):
            return updated
        if (
            not isinstance(original.body, cst.IndentedBlock)
            or scan_calls(original.body).yields != 1
        ):
            return updated
        plan = self._plan(original, dependency)
        if plan is None:
            return updated
        self.rewrote()
        return plan(updated)

    def _plan(self, function: cst.FunctionDef, dependency: bool):
        """Decide on the original tree (metadata lives there); return a function that applies
        the edit to the updated node (same statements at the same places), or None."""
        body = list(function.body.body)
        site = next(
            (
                i
                for i, s in enumerate(body)
                if yields_name(s)
                or (isinstance(s, cst.Try) and any(yields_name(t) for t in s.body.body))
            ),
            None,
        )
        if site is None:
            return None
        statement = body[site]
        attempt = statement if isinstance(statement, cst.Try) else None
        yield_statement = (
            next(t for t in attempt.body.body if yields_name(t)) if attempt else statement
        )
        if dependency and attempt is not None:
            for handler in attempt.handlers:
                if scan_calls(handler.body).raises == 0 and not self.ignored(handler):
                    self.report(
                        handler,
                        SWALLOW,
                        "except around the yield of a dependency swallows the exception",
                        "re-raise it (`raise`) at the end of the handler",
                    )
        value = yield_statement.body[0].value.value
        if not isinstance(value, cst.Name):
            return None
        name = value.value
        creation = self._creation(body[:site], name)
        if creation is None and attempt is not None:
            inside = self._creation(list(attempt.body.body), name)
            if inside is None or self._released_in_finally(attempt, name):
                return None
            release, callee = self._release_of(inside, function.asynchronous is not None)
            if release is None or (release == "?" and not (dependency and class_like(callee))):
                return None
            self.report(
                inside,
                LEAK,
                f"`{name}` is created inside the try and not released in finally",
                f"create `{name}` before the try, then rerun (or add the release in finally)",
            )
            return None
        if creation is None or self.ignored(creation) or self.ignored(yield_statement):
            return None
        if self.ignored(function.name):
            return None
        if attempt is not None and self._released_in_finally(attempt, name):
            return None
        return self._fix(function, body, site, attempt, yield_statement, creation, name, dependency)

    @staticmethod
    def _creation(
        statements: Sequence[cst.BaseStatement], name: str
    ) -> Optional[cst.SimpleStatementLine]:
        """The last ``name = <call>`` / ``name = await <call>`` among ``statements``."""
        pattern = m.SimpleStatementLine(
            body=[
                m.Assign(
                    targets=[m.AssignTarget(target=m.Name(name))],
                    value=m.Call() | m.Await(expression=m.Call()),
                )
            ]
        )
        found = None
        for statement in statements:
            if m.matches(statement, pattern):
                found = statement
        return found

    @staticmethod
    def _released_in_finally(attempt: cst.Try, name: str) -> bool:
        if attempt.finalbody is None:
            return False
        return any(uses_name(call, name) for call in scan_calls(attempt.finalbody).calls)

    def _release_of(self, creation: cst.SimpleStatementLine, is_async: bool):
        """How the object ``creation`` assigns is released (see _known_release), and the
        callee's source text."""
        value = creation.body[0].value
        awaited = isinstance(value, cst.Await)
        call = value.expression if awaited else value
        return self._known_release(call.func, awaited, is_async), cst.Module([]).code_for_node(
            call.func
        )

    def _fix(self, function, body, site, attempt, yield_statement, creation, name, dependency):
        # Where a misplaced release may stand (a statement of its own) and be moved from.
        after = body[site + 1 :]
        try_rest: List[cst.BaseStatement] = []
        handlers: Sequence[cst.ExceptHandler] = ()
        orelse = None
        if attempt is not None:
            statements = list(attempt.body.body)
            try_rest = statements[statements.index(yield_statement) + 1 :]
            handlers = attempt.handlers
            orelse = attempt.orelse
        movable_places = [after, try_rest, *(list(h.body.body) for h in handlers)]
        if orelse is not None:
            movable_places.append(list(orelse.body.body))
        movable = [s for place in movable_places for s in place if release_statement(s, name)]
        movable_calls = {id(s.body[0].value) for s in movable}
        movable_calls |= {
            id(s.body[0].value.expression)
            for s in movable
            if isinstance(s.body[0].value, cst.Await)
        }
        scanned = scan_calls(*after, *try_rest, *handlers, orelse)
        for call in scanned.calls:
            if id(call) in movable_calls or not uses_name(call, name):
                continue
            self.report(
                call,
                LEAK,
                f"`{name}` is released here on some paths only, or by another call",
                f"release `{name}` in a `finally` around the yield",
            )
            return None
        is_async = function.asynchronous is not None
        if movable:
            texts = {cst.Module([]).code_for_node(s.body[0]) for s in movable}
            if len(texts) > 1:
                self.report(
                    movable[0],
                    LEAK,
                    f"`{name}` is released in different ways on different paths",
                    f"release `{name}` once, in a `finally` around the yield",
                )
                return None
            release_line = movable[0].with_changes(leading_lines=())
        else:
            release, callee = self._release_of(creation, is_async)
            if release is None:
                return None  # not a resource: nothing to release
            if release == "?":
                # An unknown class (CapWords) yielded by a dependency is reported; an unknown
                # function's result, or anything in a plain context manager, is left alone.
                if dependency and class_like(callee):
                    self.report(
                        creation,
                        LEAK,
                        f"`{name} = {callee}(...)` is yielded and never released; "
                        f"asyncfix cannot tell how a {callee} is released",
                        f"add `finally: {name}.close()` (or `await {name}.aclose()` for an async "
                        "resource) around the yield",
                    )
                return None
            method, needs_await = release
            if needs_await and not is_async:
                self.report(
                    creation,
                    LEAK,
                    f"`{name}` needs `await {name}.{method}()`, but {function.name.value}() is a sync generator",
                    "make it `async def` (FastAPI accepts async generator dependencies), then rerun",
                )
                return None
            expression: cst.BaseExpression = cst.Call(
                func=cst.Attribute(value=cst.Name(name), attr=cst.Name(method))
            )
            if needs_await:
                expression = cst.Await(expression=expression)
            release_line = cst.SimpleStatementLine(body=[cst.Expr(value=expression)])
        method = "aclose" if "aclose" in cst.Module([]).code_for_node(release_line) else "close"

        def apply(updated: cst.FunctionDef) -> cst.FunctionDef:
            statements = list(updated.body.body)
            if attempt is None:
                new_yield, rest = statements[site], statements[site + 1 :]
                first = next(
                    (i for i, s in enumerate(rest) if release_statement(s, name)), len(rest)
                )
                new_try = cst.Try(
                    body=block_of([new_yield.with_changes(leading_lines=()), *rest[:first]]),
                    finalbody=cst.Finally(body=block_of([release_line])),
                    leading_lines=new_yield.leading_lines,
                )
                statements[site:] = [new_try, *without_release(rest[first:], name)]
            else:
                old: cst.Try = statements[site]
                inner = list(old.body.body)
                position = next(i for i, s in enumerate(inner) if yields_name(s, name))
                new_try = old.with_changes(
                    body=old.body.with_changes(
                        body=[*inner[: position + 1], *without_release(inner[position + 1 :], name)]
                    ),
                    handlers=[
                        h.with_changes(body=reblock(h.body, without_release(h.body.body, name)))
                        for h in old.handlers
                    ],
                    orelse=else_without(old.orelse, name),
                    finalbody=self._finally(old.finalbody, release_line, method),
                )
                statements[site:] = [new_try, *without_release(statements[site + 1 :], name)]
            return updated.with_changes(body=updated.body.with_changes(body=statements))

        return apply

    @staticmethod
    def _finally(
        old: Optional[cst.Finally], release: cst.SimpleStatementLine, method: str
    ) -> cst.Finally:
        if old is None:
            return cst.Finally(body=block_of([release]))
        statements = list(old.body.body)
        if statements and all(
            m.matches(s, m.SimpleStatementLine(body=[m.Pass()])) for s in statements
        ):
            # `finally: pass  # Missing db.close()`: the release takes the pass's place; a
            # comment that talks about the missing close described the bug, any other stays.
            first = statements[0]
            comment = first.trailing_whitespace.comment
            trailing = release.trailing_whitespace
            if comment is not None and method not in comment.value:
                trailing = first.trailing_whitespace
            return old.with_changes(
                body=old.body.with_changes(
                    body=[
                        release.with_changes(
                            leading_lines=first.leading_lines, trailing_whitespace=trailing
                        )
                    ]
                )
            )
        return old.with_changes(body=old.body.with_changes(body=[*statements, release]))
