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
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Mapping, Set, Tuple

from . import blocking_tables
from .project import AWAITED, PLAIN, RETURNED, STORED, CallSite, DefFacts, DefKey, ModuleFacts, _Resolver

# Blocking APIs a family rewrites natively in a coroutine, by the family that does it.
NATIVE: Mapping[str, Tuple[str, ...]] = {
    "requests_to_httpx": (
        "requests.get", "requests.post", "requests.put", "requests.patch", "requests.delete",
        "requests.head", "requests.options", "requests.request",
        "requests.api.get", "requests.api.post", "requests.api.put", "requests.api.patch",
        "requests.api.delete", "requests.api.head", "requests.api.options", "requests.api.request",
    ),
}
_LIBRARY_OF = {"requests_to_httpx": "requests"}


def _mocked(modules: Mapping[str, ModuleFacts], library: str) -> bool:
    """Whether some test replaces ``library`` (a patch target naming it, a mocking library)."""
    for facts in modules.values():
        for target in facts.mocked:
            parts = target.split(".")
            if library in parts or target in ("responses", "requests_mock"):
                return True
    return False


def seeds(
    modules: Mapping[str, ModuleFacts], resolver: _Resolver, selected: FrozenSet[str]
) -> List[DefKey]:
    """Sync functions to make async natively (sorted): their blocking calls are all converted
    by a selected family, and their closure is complete."""
    if "await_coroutines" not in selected:
        return []
    families = [name for name in NATIVE if name in selected and not _mocked(modules, _LIBRARY_OF[name])]
    if not families:
        return []
    native = frozenset(api for name in families for api in NATIVE[name])
    defs: Dict[DefKey, DefFacts] = {
        (path, q): d for path, facts in modules.items() for q, d in facts.defs.items()
    }
    callers: Dict[DefKey, List[Tuple[DefKey, CallSite]]] = {}
    converts: Set[DefKey] = set()  # sync defs that call a native-convertible API
    other: Set[DefKey] = set()  # defs that also block in another way, or call project code that does
    for path in sorted(modules):
        facts = modules[path]
        for call in facts.calls:
            owner = (path, call.owner)
            key = resolver.call(path, call.owner, call.target, call.instance_of)
            if isinstance(key, tuple) and key[0] != "class":
                callers.setdefault(key, []).append((owner, call))
                continue
            if owner not in defs or defs[owner].is_async:
                continue
            qualified = resolver.qualify(path, call.owner, call.target, call.instance_of)
            if qualified is None:
                continue
            if qualified in native and call.context in (PLAIN, STORED, RETURNED):
                converts.add(owner)
            elif blocking_tables.lookup(qualified) is not None:
                other.add(owner)
    referenced: Set[DefKey] = set()
    for path, facts in modules.items():
        for ref in facts.references:
            if not ref.async_aware:
                key = resolver.call(path, ref.owner, ref.target, ref.instance_of)
                if isinstance(key, tuple) and key[0] != "class":
                    referenced.add(key)

    def convertible(key: DefKey, seen: Set[DefKey]) -> bool:
        """``key`` can become async, and so can every sync caller above it."""
        if key in seen:
            return True
        seen.add(key)
        definition = defs[key]
        if definition.is_async:
            return True
        name = definition.name
        if (
            definition.decorators
            or definition.is_generator
            or (name.startswith("__") and name.endswith("__"))
            or key in referenced
            or definition.line in modules[key[0]].ignored
        ):
            return False
        above = callers.get(key, [])
        if not above:
            return False  # a sync root: called from outside the project (CLI, scripts, tests)
        for owner, call in above:
            if owner not in defs or call.context not in (PLAIN, STORED, RETURNED, AWAITED):
                return False  # module level, a class body, a lambda, a comprehension
            if not convertible(owner, seen):
                return False
        return True

    return sorted(key for key in converts - other if convertible(key, set()))
