"""The proof rule of cpu_to_executor: the project's combined CPU facts.

Resolves each function's calls through the project's modules and propagates along calls,
until nothing changes: a function is CPU-bound only on proof (a table entry, a declaration,
or a constant cost) and when nothing it calls may block; otherwise what made it look heavy
is kept as evidence for CPU004.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Set

from .cpu_facts import (
    IMPURE_IN_PURE_MODULES,
    KNOWN_HEAVY,
    KNOWN_HEAVY_METHODS,
    PURE_MODULES,
    Callee,
)
from .resolve import module_names, resolve_relative


def _qualify(
    raw: str, file: Dict[str, Any], path: str, root: str, own: Optional[str]
) -> Optional[str]:
    head, _, rest = raw.partition(".")
    imports = file["imports"]
    if head in imports:
        level, module, obj = imports[head]
        base = module if obj is None else (f"{module}.{obj}" if module else obj)
        if level:
            base = resolve_relative("." * level + base, path, root) or ""
            if not base:
                return None
        return f"{base}.{rest}" if rest else base
    if head in file["functions"] or head in file["instances"]:
        if own is None:
            return f"<{path}>.{raw}"
        return f"{own}.{raw}"
    return None


class CpuFacts(NamedTuple):
    """The combined index: callables by qualified name, and by (path, name) for the file itself."""

    functions: Dict[str, Callee]
    local: Dict[str, Dict[str, Callee]]  # path -> module-level name -> facts
    instances: Dict[str, str]  # qualified instance name -> qualified class name
    local_instances: Dict[str, Dict[str, str]]
    names: FrozenSet[str]  # simple names worth parsing a file for (heavy or looking it)
    app_events: bool = False  # some file wires an app's startup/shutdown (emit.APP_EVENT_TOKENS)


def combine_facts(facts: Mapping[str, Any], root: str) -> CpuFacts:
    nodes: Dict[str, Dict[str, Any]] = {}  # key -> function facts + resolved calls
    aliases: Dict[str, str] = {}  # every qualified name of a function -> its key
    instances: Dict[str, str] = {}
    local_instances: Dict[str, Dict[str, str]] = {}
    for path, file in facts.items():
        names = module_names(path, root)
        own = names[0] if names else None
        for name, function in file["functions"].items():
            key = f"{own}.{name}" if own else f"<{path}>.{name}"
            aliases[key] = key
            for module in names[1:]:
                aliases[f"{module}.{name}"] = key
            calls = [(raw, _qualify(raw, file, path, root, own)) for raw in function["calls"]]
            nodes[key] = {**function, "calls": calls, "path": path, "name": name}
        for name, made in file["instances"].items():
            made_q = _qualify(made, file, path, root, own)
            if made_q is None or not any(made_q == cls for cls, _ in KNOWN_HEAVY_METHODS):
                continue
            local_instances.setdefault(path, {})[name] = made_q
            for module in names:
                instances[f"{module}.{name}"] = made_q
    # What each call is: the table (proof of heavy work), a project function (an edge), a pure
    # standard-library function, or unknown (it may block: no proof for this function).
    edges: Dict[str, List[str]] = {key: [] for key in nodes}
    state: Dict[str, Dict[str, Any]] = {}
    for key, node in nodes.items():
        mine = state[key] = {
            "python": node["python"],
            "gil_free": False,
            "io": node["io"],
            "pure": node["pure"],
            "blocker": (node["unknown"] or [""])[0],  # a call that may block, as written
            # what makes it look heavy, and in which function (the first found)
            "why": (
                (f"{node['cost']:,} loop iterations over constant ranges", "")
                if node["python"]
                else ((node["data"], "") if node["data"] else ("", ""))
            ),
        }
        for raw, call in node["calls"]:
            callee = aliases.get(call) if call is not None else None
            owner, _, method = (call or "").rpartition(".")
            if call is None:
                mine["blocker"] = mine["blocker"] or raw
            elif call in KNOWN_HEAVY or (instances.get(owner), method) in KNOWN_HEAVY_METHODS:
                gil_free = (
                    KNOWN_HEAVY[call]
                    if call in KNOWN_HEAVY
                    else KNOWN_HEAVY_METHODS[(instances[owner], method)]
                )
                mine["gil_free" if gil_free else "python"] = True
                if not node["python"]:
                    mine["why"] = (f"a call of `{raw}`", "")
            elif owner in instances:
                pass  # another method of a password hasher: computes, does no I/O
            elif callee is not None:
                if callee != key:
                    edges[key].append(callee)
            elif call.split(".")[0] not in PURE_MODULES or call in IMPURE_IN_PURE_MODULES:
                mine["blocker"] = mine["blocker"] or raw

    # Propagate along calls until nothing changes: I/O, impurity (the callee would run in the
    # worker as well), a call that may block, what looks heavy, and -- from callees that are
    # proven CPU-bound -- heavy work itself.
    def proven(key: str) -> bool:
        theirs = state[key]
        return nodes[key]["marked"] or (
            (theirs["python"] or theirs["gil_free"]) and not theirs["io"] and not theirs["blocker"]
        )

    changed = True
    while changed:
        changed = False
        for key in nodes:
            mine = state[key]
            for callee in edges[key]:
                theirs = state[callee]
                marked = nodes[callee]["marked"]  # declared CPU-bound: taken at its word
                updates = {
                    "python": mine["python"] or (proven(callee) and (theirs["python"] or marked)),
                    "gil_free": mine["gil_free"] or (proven(callee) and theirs["gil_free"]),
                    "io": mine["io"] or theirs["io"],
                    "pure": mine["pure"] and theirs["pure"],
                    "blocker": mine["blocker"] or ("" if marked else theirs["blocker"]),
                    "why": (
                        mine["why"]
                        if mine["why"][0]
                        else (
                            (theirs["why"][0], theirs["why"][1] or nodes[callee]["name"])
                            if theirs["why"][0]
                            else (
                                ("a call of a function marked CPU-bound", nodes[callee]["name"])
                                if marked
                                else ("", "")
                            )
                        )
                    ),
                }
                if updates != mine:
                    state[key] = mine = updates
                    changed = True
    functions: Dict[str, Callee] = {}
    local: Dict[str, Dict[str, Callee]] = {}
    simple: Set[str] = set()
    for key, node in nodes.items():
        found = state[key]
        heavy = node["offloadable"] and (node["marked"] or proven(key))
        # Pure-Python unless the only evidence is GIL-releasing calls (a function named by the
        # marker or the option without evidence is taken to be pure Python).
        holds_gil = found["python"] or not found["gil_free"]
        evidence = ""
        text, where = found["why"]
        if not heavy and node["offloadable"] and not found["io"] and text:
            evidence = text + (f" (in `{where}`)" if where else "")
            if found["blocker"]:
                evidence += (
                    f"; it calls `{found['blocker']}`, which asyncfix cannot show does no I/O"
                )
        callee = Callee(heavy, holds_gil, node["offloadable"] and found["pure"], evidence)
        local.setdefault(node["path"], {})[node["name"]] = callee
        if heavy or evidence:
            simple.add(node["name"])
    for alias, key in aliases.items():
        node = nodes[key]
        functions[alias] = local[node["path"]][node["name"]]
    for name in instances:
        simple.add(name.rpartition(".")[2])
    app_events = any(file.get("app_events", False) for file in facts.values())
    return CpuFacts(functions, local, instances, local_instances, frozenset(simple), app_events)
