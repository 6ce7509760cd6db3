"""Async propagation over the whole program.

:func:`build` resolves call sites to definitions across modules (absolute and relative imports,
aliases, ``self.m()``, ``obj.m()`` on a local instance of a project class, module attributes)
and runs the propagation to a fixed point: a sync function that calls a coroutine function
without awaiting it (or that a codemod makes await) becomes ``async def`` and its own call sites
are awaited, up to the boundaries that cannot become async (dunders, properties, callbacks
handed to sync APIs, overrides of non-project base classes, lambdas), which get a diagnostic.
The result is one :class:`FileActions` per file: positions to await, ``def`` lines to make
async, module-level calls to wrap in ``asyncio.run``, and diagnostics. The per-file transforms
only apply them. Everything here is built in sorted path order, so the same tree gives the same
index whatever the scheduling.
"""

from __future__ import annotations

import os
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from .coroutine_tables import ASYNC_AWARE_DECORATORS
from .names import Resolver
from .program_facts import (
    AWAITED,
    GENEXP,
    HANDED,
    INTO_AWAITED,
    NESTED,
    PLAIN,
    RETURNED,
    STORED,
    CallSite,
    DefKey,
    FileActions,
    Finding,
    ModuleFacts,
    Program,
    ProjectIndex,
    Span,
)

# -- resolving and propagating ------------------------------------------------------------------

CODE_BOUNDARY = "AWAIT001"  # a sync function calls a coroutine but cannot become async
CODE_NO_AWAIT_HERE = "AWAIT002"  # a coroutine call where `await` is not possible
CODE_STORED = "AWAIT003"  # a coroutine kept in a name that is not awaited in an obvious way

ROUTE_DECORATORS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "trace",
        "api_route",
        "websocket",
        "route",
        "middleware",
        "exception_handler",
        "on_event",
        "staticmethod",
        "classmethod",
    }
)


def build(
    modules: Mapping[str, ModuleFacts],
    seeds: Iterable[DefKey],
    root: str,
    resolver: Optional["Resolver"] = None,
    run_in: Optional[Mapping[DefKey, FrozenSet[Span]]] = None,
    async_fixtures: bool = False,
    entries: FrozenSet[DefKey] = frozenset(),
    codemod: str = "",
    refused: Optional[Dict[DefKey, str]] = None,
) -> Dict[str, FileActions]:
    """Resolve every call site, propagate async to a fixed point, and say per file what to do.
    ``run_in``: sync functions that stay sync and run the given coroutine calls with
    ``asyncio.run`` instead (the sync tests of a --migrate closure, native.py). ``codemod``:
    the codemod applying the result, whose opt-out comments (``# asyncfix: ignore[name]``)
    leave a def or a call out. ``entries``: decorated functions a codemod keeps sync for their
    framework while their body becomes async (Codemod.async_entries): their decorators are no
    boundary, and their callers call them synchronously. ``refused``, when given, receives each
    seed that cannot become async, with the reason (a codemod whose rewrite needs its seeds async
    then refuses as a whole, in its own analyse step)."""
    run_in = run_in or {}
    resolver = resolver or Resolver(modules, root)
    defs = {(path, q): d for path, facts in modules.items() for q, d in facts.defs.items()}

    # Where each function is referenced without being called, outside async-aware slots.
    callbacks: Dict[DefKey, Tuple[str, int]] = {}
    for path in sorted(modules):
        for ref in modules[path].references:
            if ref.async_aware:
                continue
            key = resolver.call(path, ref.owner, ref.target, ref.instance_of)
            if isinstance(key, tuple) and key[0] != "class" and key not in callbacks:
                callbacks[key] = (os.path.relpath(path, root), ref.line)

    boundary_cache: Dict[DefKey, Optional[str]] = {}

    def boundary(key: DefKey) -> Optional[str]:
        if key not in boundary_cache:
            boundary_cache[key] = _boundary(key)
        return boundary_cache[key]

    def _boundary(key: DefKey) -> Optional[str]:
        definition = defs[key]
        path = key[0]
        if modules[path].silenced(definition.line, codemod):
            return "it is marked `# asyncfix: ignore`"
        if definition.name.startswith("__") and definition.name.endswith("__"):
            return f"`{definition.name}` is a dunder method, called by Python itself"
        fixture = False
        for decorator in () if key in entries else definition.decorators:
            last = decorator.rpartition(".")[2]
            if "property" in last or last in ("setter", "getter", "deleter"):
                return f"`{definition.qualname}` is a property"
            if async_fixtures and decorator in ("pytest.fixture", "fixture"):
                fixture = (
                    True  # --migrate: anyio's pytest plugin runs async fixtures (sqla_closure)
                )
                continue
            if (
                last not in ROUTE_DECORATORS
                and resolver.qualify(path, "", decorator, "") not in ASYNC_AWARE_DECORATORS
            ):
                return f"`{definition.qualname}` is decorated with `@{decorator}`, which may call it synchronously"
        if definition.is_generator and not fixture:
            return f"`{definition.qualname}` is a generator; its callers iterate it synchronously"
        # pytest passes fixtures by name, not as callbacks; an entry stays a sync callable
        if key in callbacks and not fixture and key not in entries:
            where, line = callbacks[key]
            return f"`{definition.qualname}` is passed as a callback ({where}:{line})"
        if definition.owner_class:
            bases = resolver.non_project_bases(path, definition.owner_class)
            if bases:
                return (
                    f"`{definition.qualname}` may override a method of `{bases[0]}`, "
                    "which calls it synchronously"
                )
        return None

    # Resolve every call once.
    resolved: List[Tuple[str, CallSite, object]] = []
    for path in sorted(modules):
        facts = modules[path]
        for call in facts.calls:
            if facts.silenced(call.line, codemod):
                continue
            key = resolver.call(path, call.owner, call.target, call.instance_of)
            if key is None or (isinstance(key, tuple) and key[0] == "class"):
                continue
            resolved.append((path, call, key))

    seeds = list(seeds)
    makes_async: Set[DefKey] = {
        key for key in seeds if key in defs and not defs[key].is_async and boundary(key) is None
    }
    if refused is not None:
        for key in seeds:
            if key in defs and not defs[key].is_async and key not in makes_async:
                refused[key] = boundary(key) or ""

    def is_coroutine(key: object) -> bool:
        if isinstance(key, str):
            return key.startswith("lib:")
        definition = defs.get(key)
        if definition is None:
            return False
        if definition.is_async:
            return not definition.is_generator  # an async generator is iterated, not awaited
        return key in makes_async and key not in entries

    def kept(path: str, call: CallSite) -> bool:
        """The call's value is awaited or handed on (directly or through a name)."""
        if call.context in (AWAITED, HANDED):
            return True
        return call.context == STORED and call.stored_as in modules[path].handled.get(
            call.owner, set()
        )

    # A sync function returning a coroutine is a coroutine factory only if it is used as one:
    # some call site awaits its result or hands it on. A route returning one is not.
    factories = {key for path, call, key in resolved if isinstance(key, tuple) and kept(path, call)}

    def forgotten(path: str, call: CallSite, key: object = None) -> bool:
        """The call's coroutine is dropped or used as if it were the result."""
        if call.context == PLAIN:
            return True
        if call.context == STORED:
            if kept(path, call):
                return False
            # A function this run makes async returned a value where it is called: the name
            # held that value, whatever it is handed to next (`x = g(); bag.add(x)`), so the
            # call is awaited in place. Only a coroutine the source already made may be a
            # coroutine kept on purpose.
            return key in makes_async or call.stored_as not in modules[path].passed.get(
                call.owner, set()
            )
        if call.context == RETURNED:
            return (path, call.owner) not in factories
        return False

    changed = True
    while changed:
        changed = False
        for path, call, key in resolved:
            owner = (path, call.owner)
            if owner not in defs or defs[owner].is_async or owner in makes_async or owner in run_in:
                continue
            if is_coroutine(key) and forgotten(path, call, key) and boundary(owner) is None:
                makes_async.add(owner)
                changed = True

    awaits: Dict[str, Set[Span]] = {}
    runs: Dict[str, Set[Span]] = {}
    findings: Dict[str, List[Finding]] = {}
    # path -> the other files a def made async in one and its await/run in the other tie it to
    linked: Dict[str, Set[str]] = {}

    def link(path: str, key: object) -> None:
        if isinstance(key, tuple) and key[0] != path and key in makes_async:
            linked.setdefault(path, set()).add(key[0])
            linked.setdefault(key[0], set()).add(path)

    def find(path: str, call: CallSite, code: str, message: str, hint: str) -> None:
        findings.setdefault(path, []).append(
            Finding(call.span[0], call.span[1] + 1, code, message, hint)
        )

    for path, call, key in resolved:
        if not is_coroutine(key):
            continue
        callee = key[len("lib:") :] if isinstance(key, str) else key[1]
        owner = (path, call.owner)
        async_owner = owner in defs and (defs[owner].is_async or owner in makes_async)
        if call.context in (AWAITED, HANDED):
            continue
        if call.context == INTO_AWAITED:
            find(
                path,
                call,
                CODE_STORED,
                f"coroutine `{callee}()` is passed, not awaited, to a call that is awaited",
                "if that callee wants the result rather than the coroutine, await the argument",
            )
            continue
        if (
            call.context == STORED
            and not kept(path, call)
            and key not in makes_async
            and call.stored_as in modules[path].passed.get(call.owner, set())
        ):
            find(
                path,
                call,
                CODE_STORED,
                f"coroutine `{callee}()` is kept in `{call.stored_as}`, which is passed on to other code",
                f"await `{call.stored_as}` where its result is needed, or hand it to create_task/gather",
            )
            continue
        if owner in run_in and call.span in run_in[owner]:
            runs.setdefault(path, set()).add(call.span)
            link(path, key)
            continue
        if async_owner:
            if call.context in (PLAIN, RETURNED) or (
                call.context == STORED and forgotten(path, call, key)
            ):
                awaits.setdefault(path, set()).add(call.span)
                link(path, key)
            elif call.context in (GENEXP, NESTED):
                where = (
                    "a generator expression" if call.context == GENEXP else "a nested comprehension"
                )
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is not awaited, and cannot be inside {where}",
                    "use a loop or a single list comprehension, then rerun asyncfix",
                )
            continue
        if call.owner == "":
            if call.statement and forgotten(path, call, key):
                runs.setdefault(path, set()).add(call.span)
                link(path, key)
            elif call.context != RETURNED:
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is called at module level and never run",
                    "run it with asyncio.run(...) from a main function, or await it in a coroutine",
                )
            continue
        if call.owner.startswith("<"):
            if forgotten(path, call, key) or call.context in (GENEXP, NESTED):
                find(
                    path,
                    call,
                    CODE_NO_AWAIT_HERE,
                    f"coroutine `{callee}()` is called in a {call.owner[1:-1]} and never awaited",
                    "move the call into a coroutine",
                )
            continue
        if (
            owner in defs
            and call.context != RETURNED
            and (forgotten(path, call, key) or call.context in (GENEXP, NESTED))
        ):
            reason = boundary(owner) or "it cannot await here"
            find(
                path,
                call,
                CODE_BOUNDARY,
                f"coroutine `{callee}()` is not awaited in sync `{call.owner}`, which cannot become async: {reason}",
                "make the caller async by hand, or run the coroutine with asyncio.run / a task",
            )

    result: Dict[str, FileActions] = {}
    make: Dict[str, Set[Tuple[int, str]]] = {}
    for path, qualname in makes_async:
        definition = defs[(path, qualname)]
        make.setdefault(path, set()).add((definition.line, definition.name))
    for path in sorted(set(awaits) | set(runs) | set(findings) | set(make) | set(linked)):
        result[path] = FileActions(
            await_spans=frozenset(awaits.get(path, ())),
            run_spans=frozenset(runs.get(path, ())),
            make_async=frozenset(make.get(path, ())),
            findings=tuple(
                sorted(set(findings.get(path, ())), key=lambda f: (f.line, f.column, f.code))
            ),
            linked=frozenset(linked.get(path, ())),
        )
    return result


def combine_all(
    per_file: Mapping[str, Dict[str, Any]],
    codemods: List[Any],
    root: str,
    modules: Optional[Mapping[str, ModuleFacts]] = None,
    options: Optional[Mapping[str, Any]] = None,
) -> ProjectIndex:
    """Build the index from ``{path: {codemod NAME: facts}}`` and the program facts, in
    sorted path order so the result never depends on scheduling: every codemod's
    ``combine()``, then, over the whole program, every codemod's ``analyse()`` in registry
    order (each sees what those before it decided)."""
    from .gates import GATES  # the order the codemods run in (gates.py imports this module)

    options = options or {}
    facts: Dict[str, Any] = {}
    seeds: List[DefKey] = []
    entries: Set[DefKey] = set()
    inputs: Dict[str, Mapping[str, Any]] = {}
    for codemod in codemods:
        mine = {
            path: per_file[path][codemod.NAME]
            for path in sorted(per_file)
            if codemod.NAME in per_file[path]
        }
        inputs[codemod.NAME] = mine
        combined = codemod.combine_with_options(mine, root, options)
        if combined is not None:
            facts[codemod.NAME] = combined
            seeds.extend(codemod.async_seeds(combined))
            entries.update(codemod.async_entries(combined))
    program = Program(
        root, options, frozenset(codemod.NAME for codemod in codemods), {}, None, facts, seeds
    )
    program.entries, program.inputs = frozenset(entries), inputs
    if modules:
        program.modules, program.resolver = modules, Resolver(modules, root)
        # registry order; a codemod from outside the registry (a plugin, a test's) runs last
        order = {gate.NAME: index for index, gate in enumerate(GATES)}
        ordered = sorted(codemods, key=lambda c: order.get(c.NAME, len(order)))
        index = 0
        while index < len(ordered):
            started = (list(program.seeds), program.entries)
            ordered[index].analyse(program)
            # One that changed where the await analysis starts (its seeds, entries: they only
            # shrink) makes the analyses before it run again, to a fixed point.
            index = 0 if (program.seeds, program.entries) != started else index + 1
    async_names = None
    if modules is not None:
        async_names = {path: m.async_names for path, m in modules.items() if m.async_names}
    return ProjectIndex(
        root=root,
        facts=facts,
        actions=program.actions,
        async_names=async_names,
        blocking=program.blocking,
    )
