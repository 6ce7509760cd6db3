"""The first rung of the fix ladder (blocking.py): a blocking chain made async natively.

A sync project function that blocks only through calls a rewrite family converts to native async
(today: the module functions of ``requests``, which ``requests_to_httpx`` turns into awaited
``httpx.AsyncClient`` calls once they run in a coroutine) becomes ``async def`` itself, and the
await machinery awaits it at every call site and makes its sync callers async in turn, as
maintainers do by hand (overfast-api's "Replaced requests with httpx" made ``overfast_request``,
``parse``, ``process_request`` async and awaited them in every route).

Closure or nothing: the function is a seed of the await machinery only when everything that
would have to change with it can, which means every caller, up the call graph, is a coroutine
already or a plain sync function (no decorator, not a dunder/property/generator, never passed
as a value) whose own callers qualify in the same way, ending in coroutines only: a sync root
(a CLI command, a script's ``main``, a function nothing in the project calls) would be left
calling a coroutine. And no test replaces the API being converted (``patch("app.requests.get")``,
``responses``, ``requests_mock``): converting would make those mocks miss. Otherwise the chain
falls through to demotion, offloading or a report.

With ``--migrate`` (issue 17) the closure reaches further, as the maintainers' migration did: a
``def`` route (a FastAPI path operation, an event or exception handler) above the helper becomes
``async def``, a call under ``if __name__ == "__main__":`` is run with ``asyncio.run``, and
tests that mock requests are converted with it when every mock is exact (requests_mocks.py):
``patch("app.mod.requests.get")`` -> ``patch("httpx.AsyncClient.get")``. A helper that still
cannot become async is reported (HTTPX002) with the chain that stops it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Set, Tuple

from . import blocking_tables
from .names import Resolver
from .program_facts import (
    AWAITED,
    PLAIN,
    RETURNED,
    STORED,
    CallSite,
    DefFacts,
    DefKey,
    FileActions,
    Finding,
    ModuleFacts,
    Span,
)
from .propagate import ROUTE_DECORATORS
from .requests_mocks import MockSite, RequestsFacts
from .requests_tables import NOT_MIGRATED

# Blocking APIs a family rewrites natively in a coroutine, by the family that does it.
NATIVE: Mapping[str, Tuple[str, ...]] = {
    "requests_to_httpx": (
        "requests.get",
        "requests.post",
        "requests.put",
        "requests.patch",
        "requests.delete",
        "requests.head",
        "requests.options",
        "requests.request",
        "requests.api.get",
        "requests.api.post",
        "requests.api.put",
        "requests.api.patch",
        "requests.api.delete",
        "requests.api.head",
        "requests.api.options",
        "requests.api.request",
    ),
}
_LIBRARY_OF = {"requests_to_httpx": "requests"}
FACTS_KEY = "native"  # ProjectIndex.facts[FACTS_KEY]: the NativePlan (its mocks, for the tests)
# Decorators of framework entry points that await a coroutine function (a route made async).
_ENTRY_POINTS = ROUTE_DECORATORS - {"staticmethod", "classmethod"}
# Decorators that leave a test a plain sync function pytest calls (besides pytest.mark.*).
_TEST_DECORATORS = frozenset({"patch", "object", "dict", "multiple"})


@dataclass(frozen=True)
class NativePlan:
    seeds: Tuple[DefKey, ...] = ()
    findings: Mapping[str, Tuple[Finding, ...]] = field(default_factory=dict)
    # test file -> (line, 0-based column) of the patch calls to convert to httpx
    mocks: Mapping[str, FrozenSet[Tuple[int, int]]] = field(default_factory=dict)
    # sync tests that stay sync and run their calls into the closure with asyncio.run
    runs: Mapping[DefKey, FrozenSet[Span]] = field(default_factory=dict)


def _mocked(modules: Mapping[str, ModuleFacts], library: str) -> bool:
    """Whether some test replaces ``library`` (a patch target naming it, a mocking library)."""
    for facts in modules.values():
        for target in facts.mocked:
            parts = target.split(".")
            if library in parts or target in ("responses", "requests_mock"):
                return True
    return False


def _may_name(modules: Mapping[str, ModuleFacts], resolver: Resolver, library: str) -> bool:
    """Whether a call's qualified name (Resolver.qualify) can start with ``library`` here: it
    is built from an import's absolute module (or, when that climbs above the top package, its
    name), so some import must start with it. When none does, no call of the program is the
    library's and the plan is empty: the walk over every call is spared (exact)."""
    for path, facts in modules.items():
        for level, module, attribute in facts.imports.values():
            base = resolver.absolute(path, level, module) or attribute
            if base.partition(".")[0] == library:
                return True
    return False


def _api(name: str) -> str:
    return name.replace("requests.api.", "requests.", 1)


def plan(
    modules: Mapping[str, ModuleFacts],
    resolver: Resolver,
    selected: FrozenSet[str],
    options: Mapping[str, Any],
    facts: Mapping[str, Any],
) -> NativePlan:
    """Sync functions to make async natively: their blocking calls are all converted by a
    selected family, and their closure is complete; with --migrate, also the tests' mocks to
    convert with them and the helpers left sync (reported)."""
    if "await_coroutines" not in selected:
        return NativePlan()
    migrate = bool(options.get("migrate"))
    families = [
        name
        for name in NATIVE
        if name in selected
        and (migrate or not _mocked(modules, _LIBRARY_OF[name]))
        and _may_name(modules, resolver, _LIBRARY_OF[name])
    ]
    if not families:
        return NativePlan()
    native = frozenset(api for name in families for api in NATIVE[name])
    defs: Dict[DefKey, DefFacts] = {
        (path, q): d for path, facts_ in modules.items() for q, d in facts_.defs.items()
    }
    callers: Dict[DefKey, List[Tuple[DefKey, CallSite]]] = {}
    converts: Dict[DefKey, Set[str]] = {}  # sync defs -> the native-convertible APIs they call
    other: Dict[DefKey, str] = {}  # defs that also block in another way -> one such API
    module_callers: Dict[DefKey, List[CallSite]] = {}
    # method names called on something the resolver cannot name (`parser.parse()` with
    # `parser = parser_class()`): any project method of that name may be the callee
    unresolved: Dict[str, Tuple[str, CallSite]] = {}
    for path in sorted(modules):
        for call in modules[path].calls:
            owner = (path, call.owner)
            key = resolver.call(path, call.owner, call.target, call.instance_of)
            if isinstance(key, tuple) and key[0] != "class":
                if owner in defs:
                    callers.setdefault(key, []).append((owner, call))
                else:
                    module_callers.setdefault(key, []).append(call)
                continue
            qualified = resolver.qualify(path, call.owner, call.target, call.instance_of)
            if qualified is None:
                if key is None and "." in call.target:
                    unresolved.setdefault(call.target.rpartition(".")[2], (path, call))
                continue
            if owner not in defs or defs[owner].is_async:
                continue
            if qualified in native and call.context in (PLAIN, STORED, RETURNED):
                converts.setdefault(owner, set()).add(_api(qualified))
            elif blocking_tables.lookup(qualified) is not None:
                other.setdefault(owner, qualified)
    referenced: Set[DefKey] = set()
    for path, facts_ in modules.items():
        for ref in facts_.references:
            if not ref.async_aware:
                key = resolver.call(path, ref.owner, ref.target, ref.instance_of)
                if isinstance(key, tuple) and key[0] != "class":
                    referenced.add(key)

    def entry_point(definition: DefFacts) -> bool:
        return bool(definition.decorators) and all(
            d.rpartition(".")[2] in _ENTRY_POINTS for d in definition.decorators
        )

    parents: Dict[DefKey, List[DefKey]] = {}  # project class -> its project base classes
    for path in sorted(modules):
        for qualname, bases in modules[path].classes.items():
            for base in bases:
                resolved = resolver.name(path, "", base) if base else None
                if isinstance(resolved, tuple) and resolved[0] == "class":
                    parents.setdefault((path, qualname), []).append(resolved[1])

    def ancestors(cls: DefKey) -> List[DefKey]:
        found: List[DefKey] = []
        todo = list(parents.get(cls, []))
        while todo and len(found) < 64:
            base = todo.pop()
            if base not in found:
                found.append(base)
                todo.extend(parents.get(base, []))
        return found

    def override(key: DefKey, definition: DefFacts) -> str:
        """A project method of the same name up or down the class tree of ``key``'s class."""
        cls = (key[0], definition.owner_class)
        for base in ancestors(cls):
            if f"{base[1]}.{definition.name}" in modules[base[0]].defs:
                return f"{base[1]}.{definition.name}"
        for sub in sorted(parents):
            if cls in ancestors(sub) and f"{sub[1]}.{definition.name}" in modules[sub[0]].defs:
                return f"{sub[1]}.{definition.name}"
        return ""

    def test_root(key: DefKey) -> bool:
        """A sync pytest test (pytest calls it; nothing in the project does)."""
        definition = defs[key]
        base = os.path.basename(key[0])
        return (
            migrate
            and (base.startswith("test_") or base.endswith("_test.py"))
            and definition.name.startswith("test")
            and not definition.is_generator
            and all(
                d.rpartition(".")[2] in _TEST_DECORATORS or d.startswith("pytest.mark.")
                for d in definition.decorators
            )
            and not callers.get(key)
            and not module_callers.get(key)
        )

    def stop(
        key: DefKey, seen: Set[DefKey], runs: Dict[DefKey, Set[Span]], every: bool = False
    ) -> Optional[str]:
        """Why ``key``, or a sync caller above it, cannot become async (None: all can); the
        sync tests that run calls into the closure with asyncio.run go into ``runs``."""
        if key in seen:
            return None
        seen.add(key)
        definition = defs[key]
        if definition.is_async:
            return None
        name = definition.qualname
        if migrate and entry_point(definition):
            pass  # a route: FastAPI awaits it once it is `async def`
        elif definition.decorators:
            return f"`{name}` is decorated with `@{definition.decorators[0]}`"
        if definition.is_generator:
            return f"`{name}` is a generator"
        if definition.name.startswith("__") and definition.name.endswith("__"):
            return f"`{name}` is a dunder method"
        if key in referenced:
            return f"`{name}` is passed as a value"
        if modules[key[0]].silenced(definition.line, "await_coroutines"):
            return f"`{name}` is marked `# asyncfix: ignore`"
        if definition.owner_class:
            if resolver.non_project_bases(key[0], definition.owner_class):
                return f"`{name}` may override a library method"
            relative = override(key, definition)
            if relative:
                return f"`{name}` overrides or is overridden by `{relative}` (a family changes together)"
            if definition.name in unresolved:
                where, call = unresolved[definition.name]
                return (
                    f"`{call.target}()` ({os.path.relpath(where, resolver.root)}:{call.line}) cannot be resolved "
                    f"and may call `{name}`"
                )
        for call in module_callers.get(key, []):
            if not (
                migrate and call.main_guard and call.statement and call.context in (PLAIN, STORED)
            ):
                return f"`{name}` is called at module level (line {call.line})"
        above = callers.get(key, [])
        if not above and not module_callers.get(key):
            if migrate and entry_point(definition):
                return None
            # a sync root: called from outside the project (CLI, scripts, tests)
            return f"nothing in the project calls `{name}` where it could await (a framework, a thread or a test runs it)"
        found: List[str] = []  # with `every`, the obstacle of each branch (for the report)
        for owner, call in above:
            if call.context not in (PLAIN, STORED, RETURNED, AWAITED):
                reason = (
                    f"`{owner[1]}` calls `{name}` in a lambda or comprehension (line {call.line})"
                )
            elif test_root(owner):  # the test stays sync: `asyncio.run(helper(...))`
                runs.setdefault(owner, set()).add(call.span)
                continue
            else:
                reason = stop(owner, seen, runs)
                reason = None if reason is None else f"{reason} <- `{name}`"
            if reason is not None:
                if not every:
                    return reason
                found.append(reason)
        return "; and ".join(found[:3]) if found else None

    reasons: Dict[DefKey, str] = {}
    wraps: Dict[DefKey, Dict[DefKey, Set[Span]]] = {}
    for key in sorted(converts):
        if key in other:
            reasons[key] = f"it also blocks through `{other[key]}`"
        else:
            reason = stop(key, set(), wraps.setdefault(key, {}), every=True)
            if reason is not None:
                reasons[key] = reason
    chosen = sorted(key for key in converts if key not in reasons)
    mocks: Dict[str, Set[Tuple[int, int]]] = {}
    if migrate:
        chosen, mocks = _with_mocks(modules, resolver, facts, converts, chosen, reasons)
    findings: Dict[str, List[Finding]] = {}
    if migrate:
        for key, reason in sorted(reasons.items()):
            definition = defs[key]
            findings.setdefault(key[0], []).append(
                Finding(
                    definition.line,
                    1,
                    NOT_MIGRATED,
                    f"--migrate: `{definition.qualname}` uses requests but stays sync: {reason}",
                    "remove the first obstacle named (or convert that part by hand), then rerun",
                )
            )
    runs: Dict[DefKey, Set[Span]] = {}
    for key in chosen:
        for test, spans in wraps.get(key, {}).items():
            runs.setdefault(test, set()).update(spans)
    return NativePlan(
        tuple(chosen),
        {path: tuple(found) for path, found in findings.items()},
        {path: frozenset(sites) for path, sites in mocks.items()},
        {test: frozenset(spans) for test, spans in sorted(runs.items())},
    )


def _with_mocks(
    modules: Mapping[str, ModuleFacts],
    resolver: Resolver,
    facts: Mapping[str, Any],
    converts: Mapping[DefKey, Set[str]],
    chosen: List[DefKey],
    reasons: Dict[DefKey, str],
) -> Tuple[List[DefKey], Dict[str, Set[Tuple[int, int]]]]:
    """Closure over the tests' mocks: a mock of an API a chosen helper calls is converted with it
    when every mock that reaches the helper is exact and every helper it reaches converts; else
    none of those helpers convert (reasons gets why)."""
    per_file: Mapping[str, RequestsFacts] = facts.get("requests_to_httpx") or {}
    sites: List[Tuple[str, MockSite, Optional[str]]] = []  # (test file, site, patched file)
    for path in sorted(per_file):
        for site in per_file[path].mocks:
            module_file = resolver.module(site.module, path) if site.module else None
            if site.api == "?":  # `patch("mod.get")`: does mod bind `get` from requests?
                bound = (
                    modules[module_file].imports.get(site.local) if module_file in modules else None
                )
                if not bound or bound[0] or bound[1] not in ("requests", "requests.api"):
                    continue
                site = replace(site, api=f"requests.{bound[2]}")
                if bound[2] not in {a.rpartition(".")[2] for a in NATIVE["requests_to_httpx"]}:
                    site = replace(
                        site,
                        problem=f"it patches `{site.api}`, which every requests call goes through",
                    )
            elif site.module and module_file is None:
                continue  # patches a module outside the project
            sites.append((path, site, module_file))
    async_clients = sorted(path for path, found in per_file.items() if found.uses_async_client)
    chosen_set = set(chosen)

    def touches(site: MockSite, patched: Optional[str], key: DefKey) -> bool:
        if patched is not None and patched != key[0]:
            return False
        return site.api == "requests" or bool(site.problem) or _api(site.api) in converts[key]

    changed = True
    while changed:
        changed = False
        for path, site, patched in sites:
            reached = [key for key in converts if touches(site, patched, key)]
            where = f"{os.path.relpath(path, resolver.root)}:{site.line} ({site.test or 'module level'})"
            why = ""
            if site.problem:
                why = f"the test {where} mocks requests: {site.problem}"
            elif any(key not in chosen_set for key in reached):
                why = f"the mock in {where} also serves requests calls that stay sync"
            elif async_clients:
                why = (
                    f"the mock in {where} would become a patch of httpx.AsyncClient, which "
                    f"{os.path.relpath(async_clients[0], resolver.root)} uses itself"
                )
            else:
                for key in reached:
                    renaming = per_file.get(key[0])
                    if (
                        renaming is not None
                        and modules[key[0]].defs[key[1]].line in renaming.renaming_defs
                    ):
                        why = (
                            f"the mock in {where} returns a stand-in for a response that "
                            f"`{key[1]}` reads through attributes httpx renames"
                        )
            if not why:
                continue
            for key in reached:
                if key in chosen_set:
                    chosen_set.discard(key)
                    reasons[key] = why
                    changed = True
    mocks: Dict[str, Set[Tuple[int, int]]] = {}
    for path, site, patched in sites:
        if any(key in chosen_set for key in converts if touches(site, patched, key)):
            mocks.setdefault(path, set()).add((site.line, site.column))
    return sorted(chosen_set), mocks


def with_findings(
    actions: Mapping[str, FileActions], findings: Mapping[str, Tuple[Finding, ...]]
) -> Dict[str, FileActions]:
    """The await machinery's actions with the native rung's findings added."""
    merged = dict(actions)
    for path, found in findings.items():
        current = merged.get(path, FileActions())
        merged[path] = replace(
            current,
            findings=tuple(
                sorted(set(current.findings) | set(found), key=lambda f: (f.line, f.column, f.code))
            ),
        )
    return merged
