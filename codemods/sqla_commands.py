"""typer/click commands under ``--migrate``: the command stays a sync function, its body runs in
``asyncio.run`` (issue 17).

typer and click call a command synchronously and ignore a coroutine it would return, so a
command that opens a session on the engine that becomes async cannot itself become ``async
def``. What a maintainer writes instead (typer's docs on async: run the coroutine with
``asyncio.run`` / ``anyio.run`` from the command) is the split::

    @main.command()                                   async def _create_user(email: str):
    def create_user(email: str):                          async with AsyncSession(engine) as s:
        \"\"\"Create user\"\"\"                    ->            ...
        with Session(engine) as s:
            ...                                       @main.command()
                                                      def create_user(email: str):
                                                          \"\"\"Create user\"\"\"
                                                          asyncio.run(_create_user(email))

The docstring (the command's help text), the decorators and the parameter defaults
(``typer.Option(...)``) stay on the command; the body, its annotations and its return annotation
move to ``_<name>``, which takes every parameter explicitly. The await machinery treats the
command as a function that becomes async (its session work converts, the project functions it
calls are awaited) while its callers keep calling it synchronously (``propagate.build``'s
``entries``): a sync caller such as a test helper gets a command that still runs to completion.

Proof, not names: a command is a module-level sync ``def`` whose decorators are a command
decorator of an object proven to be a typer app or a click group in the same module
(``X = typer.Typer(...)``, ``X = click.Group(...)``, ``@click.group() def X``), or
``click.command``/``click.group`` themselves, plus click's parameter decorators. Anything else
decorated stays a boundary (SQLA008 names it).
"""

from __future__ import annotations

import ast
import os
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Set, Tuple

from .resolve import module_names
from .sqla_facts import ASYNC_ENGINE, ENGINE, STAYS_SYNC, Site, _is_test_module, _resolve
from .sqla_shapes import _own

TYPER_APPS = frozenset({"typer.Typer", "typer.main.Typer"})
CLICK_GROUPS = frozenset({"click.Group", "click.core.Group"})
CLICK_COMMANDS = frozenset({"click.command", "click.group"})
# click's decorators that only declare parameters or context passing around a command
CLICK_PARAMETERS = frozenset(
    {
        "click.option",
        "click.argument",
        "click.pass_context",
        "click.pass_obj",
        "click.version_option",
        "click.help_option",
        "click.confirmation_option",
        "click.password_option",
    }
)


def _callee(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def cli_objects(tree: ast.Module, imports: Mapping[str, str]) -> Set[str]:
    """Module-level names proven to be a typer app or a click group."""
    found: Set[str] = set()
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and _resolve(statement.value.func, imports) in TYPER_APPS | CLICK_GROUPS
        ):
            found.add(statement.targets[0].id)
    for statement in tree.body:  # `@click.group() def cli()`, `@cli.group() def users()`
        if isinstance(statement, ast.FunctionDef) and any(
            _resolve(_callee(d), imports) == "click.group"
            or (
                isinstance(_callee(d), ast.Attribute)
                and _callee(d).attr == "group"  # type: ignore[attr-defined]
                and isinstance(_callee(d).value, ast.Name)  # type: ignore[attr-defined]
                and _callee(d).value.id in found  # type: ignore[attr-defined]
            )
            for d in statement.decorator_list
        ):
            found.add(statement.name)
    return found


def _typer_apps(tree: ast.Module, imports: Mapping[str, str]) -> Set[str]:
    return {
        statement.targets[0].id
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Call)
        and _resolve(statement.value.func, imports) in TYPER_APPS
    }


def _command_decorator(
    decorator: ast.expr,
    objects: Set[str],
    imports: Mapping[str, str],
    typer: AbstractSet[str] = frozenset(),
) -> bool:
    """A command of a proven object, or a typer app's ``@app.callback()``: typer calls it
    synchronously before the command, in the same process, so it splits the same way."""
    callee = _callee(decorator)
    if _resolve(callee, imports) in CLICK_COMMANDS:
        return True
    return (
        isinstance(callee, ast.Attribute)
        and isinstance(callee.value, ast.Name)
        and (
            (callee.attr in ("command", "group") and callee.value.id in objects)
            or (callee.attr == "callback" and callee.value.id in typer)
        )
    )


def module_bindings(tree: ast.Module, imports: Mapping[str, str]) -> Set[str]:
    """Names a module binds at its top level: assignments, defs, classes, imports."""
    return {
        target.id
        for statement in tree.body
        for target in (
            statement.targets
            if isinstance(statement, ast.Assign)
            else (
                [ast.Name(statement.name)]
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                else []
            )
        )
        if isinstance(target, ast.Name)
    } | set(imports)


def cli_commands(tree: ast.Module, imports: Mapping[str, str]) -> Dict[str, int]:
    """Module-level sync ``def`` commands of typer/click (name -> line), typer callbacks
    included, that the split fits: not generators, ``_<name>`` free in the module."""
    objects = cli_objects(tree, imports)
    if not objects and not any(v.split(".")[0] == "click" for v in imports.values()):
        return {}
    bound = module_bindings(tree, imports)
    typer = _typer_apps(tree, imports)
    found: Dict[str, int] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef) or f"_{statement.name}" in bound:
            continue
        decorators = statement.decorator_list
        commands = [d for d in decorators if _command_decorator(d, objects, imports, typer)]
        others = [d for d in decorators if d not in commands]
        if len(commands) != 1 or any(
            _resolve(_callee(d), imports) not in CLICK_PARAMETERS for d in others
        ):
            continue
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own(statement)):
            continue
        found[statement.name] = statement.lineno
    return found


# -- the split (libcst) ----------------------------------------------------------------------


# -- combine: the commands and who calls them ---------------------------------------------------


def command_callers(facts: Mapping[str, Any], resolver: Any, commands: Set[Tuple[str, str]]):
    """(path, site, command key, caller name, caller is async) of every call that resolves to a
    command (the resolver of sqla_closure: the project's imports)."""
    found = []
    for path, fact in sorted(facts.items()):
        for written, line, column, owner, is_async in getattr(fact, "call_refs", ()):
            if written.endswith(".callback"):  # click: the command object's function
                written = written[: -len(".callback")]
            head, _, rest = written.partition(".")
            key: Optional[Tuple[str, str]] = None
            if not rest and (path, written) in commands:
                key = (path, written)
            origin = resolver.imports.get(path, {}).get(head)
            if key is None and origin is not None:
                level, module, attribute = origin
                if attribute and not rest:
                    key = (resolver.module(path, level, module), attribute)
                elif attribute and "." not in rest:
                    dotted = f"{module}.{attribute}" if module else attribute
                    key = (resolver.module(path, level, dotted), rest)
                elif not attribute and rest:
                    parent, _, name = f"{module}.{rest}".rpartition(".")
                    key = (resolver.module(path, level, parent), name)
            if key in commands:
                found.append((path, line, column, key, owner, is_async))
    return found


def command_engines(
    facts: Mapping[str, Any], resolver: Any, commands: Set[Tuple[str, str]], root: str
) -> Tuple[Dict[Tuple[str, str], Tuple[str, int, str]], List[Tuple[str, Site]]]:
    """The engine each split command disposes at the end of its body, and the commands that
    block the conversion because it cannot be told.

    A command is one unit of work run in its own ``asyncio.run``: the pooled connections it
    leaves behind are bound to that loop, closed when it returns, so the next command in the
    same process (a test calling two commands, CliRunner invoked twice) would get a connection of
    a dead loop (asyncpg: "attached to a different loop"). Hence ``await engine.dispose()`` in a
    ``finally``. Which engine: every async session the body opens, itself or in the project
    functions it calls, is bound to an engine this run converts or an async one already there,
    and those are the program's module-level engines (an engine made inside a function stays
    sync). With exactly one outside the tests, it is that one; with none or several, the
    command blocks (SQLA002 on it, SQLA008 on the engine). Except on aiosqlite: its connection
    runs in a thread of its own and serves any loop, and disposing an in-memory database's one
    connection would drop the database (measured: "no such table" on the next command); so
    there the command does not dispose. A driver asyncfix cannot see blocks the command.

    Per command: (the engine's name in the command's module, level and module to import it
    from; level -1 when the module binds the name already); ("", -1, "") when nothing is
    disposed (aiosqlite)."""
    engines = sorted(
        key
        for key, shared in resolver.shared.items()
        if shared.kind in (ENGINE, ASYNC_ENGINE) and not _is_test_module(key[0])
    )
    found: Dict[Tuple[str, str], Tuple[str, int, str]] = {}
    blockers: List[Tuple[str, Site]] = []
    lines = {
        (path, name): line
        for path, fact in facts.items()
        for name, line in getattr(fact, "commands", ())
    }
    for path, name in sorted(commands):
        line = lines.get((path, name), 1)
        if len(engines) != 1:
            listed = ", ".join(f"`{e}` ({os.path.relpath(p, root)})" for p, e in engines)
            why = (
                f"the CLI command `{name}` runs its body in asyncio.run and must dispose the "
                "engine its sessions use at its end, but the program has "
                + (f"{len(engines)} engines: {listed}" if engines else "no module-level engine")
            )
            hint = "keep one module-level engine for the app, or split the command by hand"
            blockers.append((path, Site(line, 1, STAYS_SYNC, why, hint)))
            continue
        ((where, engine),) = engines
        shared = resolver.shared[(where, engine)]
        if shared.problem is not None:
            continue  # the engine cannot convert: it blocks, and says why (SQLA003)
        driver = shared.driver
        if driver == "aiosqlite":
            found[(path, name)] = ("", -1, "")
            continue
        if not driver:
            why = (
                f"the CLI command `{name}` runs its body in asyncio.run: whether it must dispose "
                f"the engine `{engine}` at its end depends on its driver, which asyncfix cannot see"
            )
            hint = "name the driver in the engine's URL, then rerun asyncfix"
            blockers.append((path, Site(line, 1, STAYS_SYNC, why, hint)))
            continue
        reference = _reference(resolver, path, where, engine, root)
        if reference is None or (
            reference[1] >= 0 and reference[0] in getattr(facts.get(path), "bound", ())
        ):
            why = f"the CLI command `{name}` cannot import the engine `{engine}` to dispose it"
            if reference is not None:
                why += f": `{engine}` is bound to something else in its module"
            hint = "import the engine in the command's module, then rerun asyncfix"
            blockers.append((path, Site(line, 1, STAYS_SYNC, why, hint)))
            continue
        found[(path, name)] = reference
    return found, blockers


def _reference(
    resolver: Any, path: str, where: str, engine: str, root: str
) -> Optional[Tuple[str, int, str]]:
    """How the module ``path`` names the engine ``engine`` of ``where``: a name bound there
    (defined, or imported through any chain of re-exports), else an import to add: from the
    module ``path`` already imports other names of, as it does (relative or not), else by the
    module's absolute name."""
    if where == path:
        return engine, -1, ""
    imports = resolver.imports.get(path, {})
    for local in sorted(imports):
        if resolver.resolve(path, local) == ((where, engine), ""):
            return local, -1, ""
    for _, (level, module, attribute) in sorted(imports.items()):
        if attribute and resolver.module(path, level, module) == where:
            return engine, level, module
    names = module_names(where, root)
    return (engine, 0, names[0]) if names else None
