"""Which module of an app holds a resource the app's modules share (issue 19).

A resource asyncfix makes for an app (the HTTP client, requests_hosts.py) is used from several
modules of it: the module that makes the FastAPI app and the modules it imports. It lives in
one of them, the *host*; the others import it from there, and the app's lifespan closes it. The
host must be a module the app already imports, and importing it from every other user must make
no import cycle. This module answers that from the program facts alone, with resolve.py's import
rules (through :class:`~.names.Resolver`), never from guessed names.

* :func:`import_graph`: the project modules each module imports, at module level (an import
  inside a function runs later and cannot make an import-time cycle) or anywhere;
* :func:`reach`: what a module imports, directly or through others;
* :func:`choose_host`: among candidate modules, one that imports none of the modules that will
  import it; None when every choice makes a cycle.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Set

from .names import Resolver
from .program_facts import Import, ModuleFacts


def _targets(entry: Import, path: str, resolver: Resolver) -> Set[str]:
    """The project files an import statement runs: the module it names and its packages
    (``import a.b`` runs ``a/__init__.py`` first), and for ``from m import x`` the submodule
    ``m.x`` when there is one."""
    base = resolver.absolute(path, entry.level, entry.module) if entry.level else entry.module
    names: List[str] = []
    if base:
        parts = base.split(".")
        names += [".".join(parts[:cut]) for cut in range(1, len(parts) + 1)]
    if entry.name and entry.name != "*":
        names.append(f"{base}.{entry.name}" if base else entry.name)
    found = set()
    for name in names:
        target = resolver.module(name, path)
        if target is not None and target != path:
            found.add(target)
    return found


def import_graph(
    modules: Mapping[str, ModuleFacts], resolver: Resolver, module_level: bool
) -> Dict[str, Set[str]]:
    """path -> the project files its imports run (``module_level``: only the imports that run
    when the module is imported; else every import, wherever it stands)."""
    graph: Dict[str, Set[str]] = {}
    for path in sorted(modules):
        edges: Set[str] = set()
        for entry in modules[path].imported:
            if module_level and entry.owner:
                continue
            edges |= _targets(entry, path, resolver)
        graph[path] = edges
    return graph


def reach(graph: Mapping[str, Set[str]], start: str) -> Set[str]:
    """Every module ``start`` imports, directly or through others (not ``start`` itself
    unless a cycle leads back to it)."""
    seen: Set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(graph.get(path, ()))
    return seen


def choose_host(
    candidates: Iterable[str], importers: Iterable[str], graph: Mapping[str, Set[str]]
) -> Optional[str]:
    """The first candidate (in the order given) that imports, directly or not, none of the
    ``importers`` (the modules that will import the resource from it): adding their imports
    then makes no cycle, since every new edge leads into the host. None when there is none."""
    wanted = set(importers)
    for candidate in candidates:
        if not (reach(graph, candidate) & (wanted - {candidate})):
            return candidate
    return None
