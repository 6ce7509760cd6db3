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

This module is the first pass's part (``ast``, no libcst); the rewrite that puts the table
creation into the override is sqla_ddl.WithDdlFirst.
"""

from __future__ import annotations

import ast
from typing import FrozenSet, List, Optional


def override_functions(tree: ast.Module, engine: str) -> Optional[FrozenSet[str]]:
    """The first pass's answer for a test module's import-time DDL on ``engine``, read by the
    transform (sqla_ddl) through ``Combined.ddl_overrides``.

    None when ``engine`` and the module-level names built from it (a session factory) are read
    anywhere but where they are defined, in import-time DDL and inside the functions installed
    (at any depth) as ``X.dependency_overrides[K] = f``: the DDL cannot move (DDL diagnostic).
    Else the names of those functions, the overrides the tables are created in; empty when they
    are not all generators with a name of their own (the DDL then runs in ``asyncio.run``)."""
    overrides = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].value, ast.Attribute)
        and node.targets[0].value.attr == "dependency_overrides"
        and isinstance(node.value, ast.Name)
    }
    watched = {engine}
    skipped: List[ast.AST] = []
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            target = statement.targets[0]
            if target.id == engine or any(
                isinstance(n, ast.Name) and n.id in watched for n in ast.walk(statement.value)
            ):
                watched.add(target.id)
                skipped.append(statement)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            if isinstance(func, ast.Attribute) and func.attr in ("create_all", "drop_all"):
                skipped.append(statement)
    if not overrides:
        return None
    functions = [
        function
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        and function.name in overrides
    ]
    inside = {id(node) for function in functions for node in ast.walk(function)}
    if any(
        isinstance(node, ast.Name) and node.id in watched and id(node) not in inside
        for statement in tree.body
        if statement not in skipped
        for node in ast.walk(statement)
    ):
        return None
    names = [function.name for function in functions]
    if not names or len(names) != len(set(names)):
        return frozenset()
    if not all(
        any(isinstance(node, ast.Yield) for node in ast.walk(function)) for function in functions
    ):
        return frozenset()
    return frozenset(names)
