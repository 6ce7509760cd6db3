"""A test module's import-time ``create_all`` on its test engine, under an async engine: the
tables are created on the loop that uses the connection, inside the module's dependency
override (issue 17).

The FastAPI SQL tutorial's test modules each build an engine (in-memory SQLite + ``StaticPool``),
create the tables at import (``Base.metadata.create_all(bind=engine)``) and install an override
(``app.dependency_overrides[get_db] = override_get_db``). Once the engine is async, that import-
time call needs a loop, and a throwaway ``asyncio.run`` at import creates the tables on a loop
no request runs on (fine for aiosqlite, whose connection serves any loop; not for asyncpg or
psycopg, whose connections belong to the loop that made them). An async fixture does not fit
either: with two such modules the override installed last (at collection) serves the tests of
both, so a fixture creating the tables of its own module's engine misses the engine in use.

What always fits is the override itself: it runs on the request's loop, and it is the one
place that hands out sessions of that engine, so the tables are created there, before the
session opens (``create_all`` checks first: after the first request it only reads the
catalogue)::

    Base.metadata.create_all(bind=engine)        async def override_get_db():
                                          ->         async with engine.begin() as conn:
    def override_get_db():                               await conn.run_sync(Base.metadata.create_all)
        try:                                         async with TestingSessionLocal() as db:
            db = TestingSessionLocal()                   yield db
            yield db
        finally:
            db.close()

Only when nothing else in the module uses the engine or a session factory bound to it (a test
opening ``TestingSessionLocal()`` itself would run before any request has created the tables);
otherwise the caller keeps its other form.
"""

from __future__ import annotations

from typing import List, Sequence, Set

import libcst as cst
import libcst.matchers as m


def _names(node: cst.CSTNode) -> List[str]:
    return [n.value for n in m.findall(node, m.Name())]


_OVERRIDE = m.Assign(
    targets=[m.AssignTarget(m.Subscript(value=m.Attribute(attr=m.Name("dependency_overrides"))))],
    value=m.Name(),
)


class _Uses(cst.CSTVisitor):
    """Where the watched names are read: inside an override function, or elsewhere."""

    def __init__(self, watched: Set[str], overrides: Set[str]) -> None:
        self.watched = watched
        self.overrides = overrides
        self.depth = 0  # enclosing override functions
        self.outside = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value in self.overrides:
            self.depth += 1

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value in self.overrides:
            self.depth -= 1

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.watched and not self.depth:
            self.outside = True


def override_functions(module: cst.Module, engines: Set[str], ddl: Sequence[int]) -> Set[str]:
    """The names of the module's dependency overrides (generator functions, at any depth,
    installed with ``X.dependency_overrides[K] = f``) when they are the only users of
    ``engines`` and of the session factories bound to them, outside their definitions and the
    DDL statements; empty otherwise."""
    overrides = {a.value.value for a in m.findall(module, _OVERRIDE)}  # type: ignore[union-attr]
    functions = [
        f
        for f in m.findall(module, m.FunctionDef())
        if isinstance(f, cst.FunctionDef) and f.name.value in overrides
    ]
    if not functions or len(functions) != len({f.name.value for f in functions}):
        return set()
    if not all(m.findall(f, m.Yield()) for f in functions):
        return set()
    factories: Set[str] = set()
    definitions: Set[int] = set()
    for index, statement in enumerate(module.body):
        if m.matches(
            statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])
        ):
            target = statement.body[0].targets[0].target.value  # type: ignore[attr-defined]
            used = set(_names(statement.body[0].value))  # type: ignore[attr-defined]
            if target in engines:
                definitions.add(index)
            elif used & engines:  # `TestingSessionLocal = sessionmaker(bind=engine)`
                factories.add(target)
                definitions.add(index)
    uses = _Uses(engines | factories, {f.name.value for f in functions})
    for index, statement in enumerate(module.body):
        if index not in definitions and index not in ddl:
            statement.visit(uses)
    return set() if uses.outside else {f.name.value for f in functions}


class WithDdlFirst(cst.CSTTransformer):
    """Each async override of ``names`` with the table creation as its first statements."""

    def __init__(self, names: Set[str], block: List[cst.BaseStatement]) -> None:
        self.names = names
        self.block = block
        self.done = 0

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        if (
            updated.name.value not in self.names
            or updated.asynchronous is None
            or not isinstance(updated.body, cst.IndentedBlock)
        ):
            return updated
        self.done += 1
        return updated.with_changes(
            body=updated.body.with_changes(body=[*self.block, *updated.body.body])
        )
