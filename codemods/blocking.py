"""Blocking through project code: which coroutines block the loop, through which chain, and the
one fix each gets (issue 16).

A project function *blocks* when it calls a blocking API (``blocking_tables``: the knowledge base,
plus ``[tool.asyncfix] blocking`` and ``# asyncfix: blocking`` on a def) or another project
function that blocks; calls are followed as the call graph resolves them (imports, ``self``/``cls``,
``self.x`` as ``__init__`` typed it, parameters annotated with a project class, also through
``Annotated[T, Depends()]`` and module-level aliases of it, ``Class()`` -> ``__init__``, the body of a
``@contextmanager``). What the resolver cannot name is unknown and never blocks.

Every ``async def`` the loop runs that calls a blocking *sync project function* (its own direct
blocking calls are the other families' business) gets one plan, the least invasive correct fix:

1. **demote** (codemod ``demote_to_def``): a path operation or dependency that never awaits, uses
   nothing loop-bound (``asyncio``/``anyio``), is no websocket/middleware/lifespan/exception
   handler, and is called or referenced by no project code other than its route decorator or a
   ``Depends(...)``: ``async def`` -> ``def``, and FastAPI runs it in its threadpool;
2. **offload** (codemod ``offload_to_thread``): each blocking call that is a whole statement, an
   assignment's value or a return value: ``await asyncio.to_thread(f, *args)``. Never a call that
   makes a generator or a context manager (``with cm():``: the work happens on entering it);
3. **report** (``BLOCK001``, with the chain), when neither applies.

Functions the await machinery makes async in this run are converted natively and are no link of a
chain. The plan is plain data, positional in the file as read (def line and name; call line and
the callee's last name), like the await actions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Set, Tuple

from . import blocking_tables
from .names import Resolver
from .program_facts import (
    AWAITED,
    HANDED,
    PLAIN,
    RETURNED,
    STORED,
    CallSite,
    DefFacts,
    DefKey,
    Finding,
    ModuleFacts,
    Program,
)

CODE_BLOCKS = "BLOCK001"
# A blocking API called directly in a coroutine that no family rewrote or reported: what is
# left, recomputed on the text as written every time (never carried as a note: rounds.py).
CODE_DIRECT = "BLOCK002"
DEMOTE_CODEMOD = "demote_to_def"
OFFLOAD_CODEMOD = "offload_to_thread"

# Decorator names (last part) that make a function a path operation FastAPI/Starlette call; an
# `async def` under any other decorator may be awaited by that decorator's wrapper.
_ROUTES = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route"}
)
# Roles whose coroutine must stay one: the loop drives them directly.
_LOOP_ROLES = frozenset(
    {
        "websocket",
        "websocket_route",
        "middleware",
        "exception_handler",
        "on_event",
        "lifespan",
        "route",
    }
)
# Library prefixes whose use means loop-bound objects (locks, queues, tasks, events).
_LOOP_BOUND = ("asyncio.", "anyio.", "trio.")


@dataclass(frozen=True)
class Step:
    """One link of a blocking chain: a project function (path and line of the call to the next
    link) or, last, the blocking API."""

    name: str
    path: str = ""
    line: int = 0
    library: str = ""


@dataclass(frozen=True)
class BlockingPlan:
    # path -> {(def line, name)} of coroutines to make `def`
    demote: Mapping[str, FrozenSet[Tuple[int, str]]] = field(default_factory=dict)
    # path -> {(call line, callee's last name)} of calls to run in a thread
    offload: Mapping[str, FrozenSet[Tuple[int, str]]] = field(default_factory=dict)
    # path -> {(call line, callee's last name): the report if the block cannot move} of `with`
    # blocks whose context manager blocks: the whole block moves to one thread
    with_blocks: Mapping[str, Mapping[Tuple[int, str], Finding]] = field(default_factory=dict)
    findings: Mapping[str, Tuple[Finding, ...]] = field(default_factory=dict)

    def touches(self, path: str) -> bool:
        return bool(self.demote.get(path) or self.offload.get(path) or self.with_blocks.get(path))


def _declared(modules: Mapping[str, ModuleFacts]) -> Set[DefKey]:
    """Defs marked ``# asyncfix: blocking`` on their line or the line above."""
    return {
        (path, qualname)
        for path, facts in modules.items()
        if facts.blocking_marks
        for qualname, definition in facts.defs.items()
        if {definition.line, definition.line - 1} & facts.blocking_marks
    }


def plan_once(program: Program) -> None:
    """Codemod.analyse of the codemods that apply the plan (demote_to_def, offload_to_thread):
    made once, from the functions the await analysis makes async."""
    if program.blocking is None:
        program.blocking = analyse(
            program.modules,
            program.root,
            program.made_async(),
            program.options,
            program.selected,
            program.resolver,
        )


def analyse(
    modules: Mapping[str, ModuleFacts],
    root: str,
    makes_async: Set[DefKey],
    options: Mapping[str, Any],
    selected: FrozenSet[str],
    resolver: Optional[Resolver] = None,
) -> BlockingPlan:
    """The plan for every blocking entry point of the program."""
    resolver = resolver or Resolver(modules, root)
    defs: Dict[DefKey, DefFacts] = {
        (path, q): d for path, facts in modules.items() for q, d in facts.defs.items()
    }
    user = blocking_tables.user_blocking(options)

    def sync(key: DefKey) -> bool:
        definition = defs.get(key)
        return definition is not None and not definition.is_async and key not in makes_async

    chains: Dict[DefKey, Tuple[Step, ...]] = {
        key: (Step(key[1], key[0], defs[key].line), Step("declared `# asyncfix: blocking`"))
        for key in _declared(modules)
        if sync(key)
    }
    edges: Dict[DefKey, List[Tuple[CallSite, DefKey]]] = {}
    entry_calls: List[Tuple[str, CallSite, DefKey]] = []  # (path, call, callee) in coroutines
    used: Dict[DefKey, List[str]] = {}  # callee -> where project code calls or references it
    loop_bound: Set[DefKey] = set()
    direct: List[Tuple[str, CallSite, str, Any]] = []  # blocking APIs called in coroutines
    for path in sorted(modules):
        facts = modules[path]
        shown = os.path.relpath(path, root)  # once per file, not per call (11k calls of it)
        for call in facts.calls:
            owner = (path, call.owner)
            key = resolver.call(path, call.owner, call.target, call.instance_of)
            if isinstance(key, tuple) and key[0] == "class":
                init = resolver.method(key[1], "__init__")
                key = init if isinstance(init, tuple) and init[0] != "class" else None
            if isinstance(key, tuple):
                used.setdefault(key, []).append(f"{shown}:{call.line}")
                if owner in defs:
                    edges.setdefault(owner, []).append((call, key))
                    if defs[owner].is_async and owner not in makes_async:
                        entry_calls.append((path, call, key))
                continue
            qualified = resolver.qualify(path, call.owner, call.target, call.instance_of)
            if qualified is None or owner not in defs:
                continue
            if qualified.startswith(_LOOP_BOUND):
                loop_bound.add(owner)
            api = blocking_tables.lookup(qualified) or blocking_tables.match_user(qualified, user)
            if (
                api is not None
                and not _made_by_blocking_call(resolver, path, call)
                and defs[owner].is_async
                and owner not in makes_async
                and call.context not in (AWAITED, HANDED)
                and not facts.opted_out.intersection(range(call.line, call.end_line + 1))
            ):
                direct.append((path, call, qualified, api))
            if api is not None and sync(owner) and owner not in chains:
                chains[owner] = (
                    Step(call.owner, path, call.line),
                    Step(qualified, library=api.library),
                )
        for ref in facts.references:
            if ref.async_aware:
                continue
            key = resolver.call(path, ref.owner, ref.target, ref.instance_of)
            if isinstance(key, tuple) and key[0] != "class":
                used.setdefault(key, []).append(f"{shown}:{ref.line}")

    # Propagate up the sync call graph to a fixed point, keeping the first (shortest) chain.
    changed = True
    while changed:
        changed = False
        for owner in sorted(edges):
            if owner in chains or not sync(owner):
                continue
            for call, callee in edges[owner]:
                if callee in chains and sync(callee) and call.context not in (AWAITED, HANDED):
                    chains[owner] = (Step(owner[1], owner[0], call.line), *chains[callee])
                    changed = True
                    break

    demote: Dict[str, Set[Tuple[int, str]]] = {}
    offload: Dict[str, Set[Tuple[int, str]]] = {}
    with_blocks: Dict[str, Dict[Tuple[int, str], Finding]] = {}
    findings: Dict[str, List[Finding]] = {}
    by_entry: Dict[DefKey, List[Tuple[CallSite, DefKey]]] = {}
    demoted: Set[DefKey] = set()
    for path, call, callee in entry_calls:
        if callee in chains and sync(callee) and call.context not in (AWAITED, HANDED):
            by_entry.setdefault((path, call.owner), []).append((call, callee))

    # A coroutine that calls a blocking API itself is an entry point too: demoting it is the
    # fix when it never awaits (a family that rewrites the call natively runs first, and the
    # coroutine that then awaits stays one: demote_to_def checks).
    for path, call, _, _ in direct:
        by_entry.setdefault((path, call.owner), [])

    for entry in sorted(by_entry):
        path, qualname = entry
        definition = defs[entry]
        sites = by_entry[entry]
        if DEMOTE_CODEMOD in selected and _demotable(definition, entry, used, loop_bound, modules):
            demote.setdefault(path, set()).add((definition.line, definition.name))
            demoted.add(entry)
            continue
        names_on_lines = _names_per_line(sites)
        for call, callee in sites:
            last = call.target.rpartition(".")[2]
            if (
                OFFLOAD_CODEMOD in selected
                and not defs[callee].is_generator
                and not call.with_item
                and (call.statement or call.context == RETURNED)
                and call.context in (PLAIN, STORED, RETURNED)
                and names_on_lines[(call.line, last)] == 1
            ):
                offload.setdefault(path, set()).add((call.line, last))
                continue
            if (
                OFFLOAD_CODEMOD in selected
                and call.with_item
                and names_on_lines[(call.line, last)] == 1
            ):
                reason = "its `with` block awaits, returns early, or shares names with the code around it"
                finding = _finding(call, qualname, chains[callee], root, reason)
                with_blocks.setdefault(path, {})[(call.line, last)] = finding
                continue
            reason = (
                "it is a `with` item: the work runs when the block is entered"
                if call.with_item
                else (
                    "it makes a generator"
                    if defs[callee].is_generator
                    else "it is part of a larger expression"
                )
            )
            findings.setdefault(path, []).append(
                _finding(call, qualname, chains[callee], root, reason)
            )
    for path, call, qualified, api in direct:
        if (path, call.owner) in demoted:
            continue  # runs in the threadpool once it is a def
        findings.setdefault(path, []).append(
            Finding(
                call.span[0],
                call.span[1] + 1,
                CODE_DIRECT,
                f"`{qualified}` [{api.library}] blocks the event loop in coroutine {call.owner}: {api.why}",
                f"use {api.instead}",
            )
        )
    return BlockingPlan(
        demote={p: frozenset(v) for p, v in demote.items()},
        offload={p: frozenset(v) for p, v in offload.items()},
        with_blocks=with_blocks,
        findings={
            p: tuple(sorted(set(v), key=lambda f: (f.line, f.column))) for p, v in findings.items()
        },
    )


def _made_by_blocking_call(resolver: Resolver, path: str, call: CallSite) -> bool:
    """``f.read()`` where ``f = open(...)``: the object came from a blocking call, which is
    reported (or rewritten) itself; its methods are not reported again."""
    if not call.instance_of or call.instance_of.startswith("self."):
        return False
    maker = resolver.qualify(path, call.owner, call.instance_of, "")
    return maker is not None and blocking_tables.lookup(maker) is not None


def _names_per_line(sites: List[Tuple[CallSite, DefKey]]) -> Dict[Tuple[int, str], int]:
    counts: Dict[Tuple[int, str], int] = {}
    for call, _ in sites:
        key = (call.line, call.target.rpartition(".")[2])
        counts[key] = counts.get(key, 0) + 1
    return counts


def _demotable(
    definition: DefFacts,
    entry: DefKey,
    used: Mapping[DefKey, List[str]],
    loop_bound: Set[DefKey],
    modules: Mapping[str, ModuleFacts],
) -> bool:
    if definition.awaits or entry in loop_bound or entry in used or definition.owner_class:
        return False
    lasts = [decorator.rpartition(".")[2] for decorator in definition.decorators]
    if any(last in _LOOP_ROLES or last not in _ROUTES for last in lasts):
        return False
    if lasts:
        return True
    # No decorator: a dependency (referenced in Depends/Security: an async-aware reference).
    path, qualname = entry
    return any(
        ref.async_aware and ref.target.rpartition(".")[2] == definition.name
        for facts in modules.values()
        for ref in facts.references
    )


def _where(path: str, line: int, root: str) -> str:
    return f"{os.path.relpath(path, root)}:{line}"


def describe(entry: str, chain: Tuple[Step, ...], root: str) -> str:
    """``read_tasks -> TaskController.list (routers/tasks.py:41) -> sqlalchemy.orm.Session.execute
    [sqlalchemy]``: each project link with the line where it calls the next."""
    links = [entry]
    for step in chain:
        if step.library:
            links.append(f"{step.name} [{step.library}]")
        elif step.path:
            links.append(f"{step.name} ({_where(step.path, step.line, root)})")
        else:
            links.append(step.name)
    return " -> ".join(links)


def _finding(
    call: CallSite, entry: str, chain: Tuple[Step, ...], root: str, reason: str
) -> Finding:
    return Finding(
        call.span[0],
        call.span[1] + 1,
        CODE_BLOCKS,
        f"coroutine {entry} blocks the event loop: {describe(entry, chain, root)}",
        f"not offloaded: {reason}; run the blocking part with `await asyncio.to_thread(...)`, "
        "make the route a plain `def`, or make the chain async",
    )
