"""Which module of an app holds a resource the app's modules share (issue 19).

A resource asyncfix makes for an app (the HTTP client, requests_hosts.py; the process pool,
cpu_hosts.py) is used from several
modules of it: the module that makes the FastAPI app and the modules it imports. It lives in
one of them, the *host*; the others import it from there, and the app's lifespan closes it. The
host must be a module the app already imports, and importing it from every other user must make
no import cycle. This module answers that from the program facts alone, with resolve.py's import
rules (through :class:`~.names.Resolver`), never from guessed names.

* :func:`import_graph`: the project modules each module imports, at module level (an import
  inside a function runs later and cannot make an import-time cycle) or anywhere;
* :func:`reach`: what a module imports, directly or through others;
* :func:`choose_host`: among candidate modules, one that imports none of the modules that will
  import it; None when every choice makes a cycle;
* :func:`makes_app`: the cheap ``ast`` test for a module that makes a FastAPI app; where its
  app runs its shutdown code is app_state.py's answer (libcst, imported only for such a module);
* :func:`assign_hosts`: the policy both resources follow, per app: the users, one host, the
  app's lifespan closes it; a resource per module (with a comment saying why) where sharing has
  no owner (two apps import the module, or a script that runs coroutines with ``asyncio.run``:
  :func:`script_entries`), would make a cycle, or the app wires its startup and shutdown in a
  way asyncfix does not extend.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from . import prefilter
from .names import Resolver
from .program_facts import Import, ModuleFacts, Program
from .resolve import external, module_names

# Roles of the modules of an app in one shared resource (assign_hosts):
HOST = "host"  # (HOST, users): defines the resource and its close; users: the paths importing it
USER = "user"  # (USER, module): imports the resource from `module`
APP = "app"  # (APP, module, closes): USER, and its lifespan awaits the close function
PER_CALL = "per-call"  # (PER_CALL, comment): a resource of its own, the comment says why
Role = Tuple


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


def role(project: Optional[Any], key: str, path: str) -> Optional[Role]:
    """``path``'s role in the shared resource the index holds under ``key`` (the client's
    requests_hosts.HOSTS_KEY, the pool's cpu_hosts.POOL_HOSTS_KEY); None without one."""
    roles = project.get(key) if project is not None else None
    return roles.get(path) if roles else None


# The first passes of both resources ask about the same app module one after the other (the
# scan runs every collector on one file before the next): one libcst read serves both.
_LAST_APP: List[Any] = [None, None, ""]


def app_module_state(tree: ast.Module, source: bytes, module: ModuleFacts) -> str:
    """app_state.app_state for a module that makes a FastAPI app (libcst, imported only then);
    "" for any other module."""
    if not makes_app(tree, module):
        return ""
    if _LAST_APP[0] is source and _LAST_APP[1] is module:
        return _LAST_APP[2]
    from .app_state import app_state

    state = app_state(source, module)
    _LAST_APP[:] = [source, module, state]
    return state


def makes_app(tree: ast.Module, module: ModuleFacts) -> bool:
    """A module-level ``NAME = FastAPI(...)``: the cheap ``ast`` test before libcst reads the
    module for app_state.py."""
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            parts = []
            while isinstance(func, ast.Attribute):
                parts.insert(0, func.attr)
                func = func.value
            if not isinstance(func, ast.Name):
                continue
            bound = module.imports.get(func.id)
            if bound and not bound[0]:
                if ".".join(filter(None, [bound[1], bound[2], *parts])) == "fastapi.FastAPI":
                    return True
    return False


def _complete(program: Program, paths: Set[str]) -> bool:
    """Whether every module-level import of these modules that may be of the project resolves
    to a collected file. Without the prefilter every file is collected; with it, a module left
    out could close a cycle nobody sees, and then no host is chosen."""
    if not prefilter.enabled(program.options):
        return True
    resolver = program.resolver
    for path in paths:
        for entry in program.modules[path].imported:
            if entry.owner or entry.level:
                continue
            if (
                not external(entry.module.split(".")[0])
                and resolver.module(entry.module, path) is None
            ):
                return False
    return True


def script_entries(program: Program) -> List[str]:
    """The modules that run coroutines with ``asyncio.run`` at module level (a script, outside
    any app's lifespan): the calls the await analysis wraps in this run, and those wrapped
    already (an earlier run, or the author)."""
    found = []
    resolver = program.resolver
    for path, module in sorted(program.modules.items()):
        actions = program.actions.get(path)
        if actions is not None and actions.run_spans:
            found.append(path)
        elif resolver is not None and any(
            call.owner == ""
            and call.target.endswith("run")
            and resolver.qualify(path, call.owner, call.target, call.instance_of) == "asyncio.run"
            for call in module.calls
        ):
            found.append(path)
    return found


def assign_hosts(
    program: Program,
    users: Iterable[str],
    apps: Mapping[str, str],
    existing: Iterable[str],
    free: Iterable[str],
    closes: Iterable[str],
    comments: Tuple[str, str, str],
    scripts: Iterable[str] = (),
    script_comment: str = "",
) -> Dict[str, Role]:
    """path -> its role in its app's shared resource; paths without one keep the resource's
    per-module rules. ``users``: the modules that will use the resource; ``apps``: the modules
    that make a FastAPI app -> app_state.app_state; ``existing``: modules that hold the resource
    from an earlier run; ``free``: users that could hold it (the names it needs are free);
    ``comments``: why a user keeps a resource of its own (two apps, wired, cycle); ``scripts``:
    modules that run coroutines outside any app (:func:`script_entries`): a user one of them
    imports keeps a resource of its own (``script_comment``), as nothing there would close a
    shared one."""
    modules, resolver = program.modules, program.resolver
    users = [path for path in users if path in modules]
    app_paths = sorted(path for path, state in apps.items() if state and path in modules)
    if not modules or resolver is None or not users or not app_paths:
        return {}
    two_apps, wired, cycle = comments
    existing, free, closes = set(existing), set(free), set(closes)
    anywhere = import_graph(modules, resolver, module_level=False)
    at_import = import_graph(modules, resolver, module_level=True)
    members = {app: reach(anywhere, app) | {app} for app in app_paths}
    outside: Set[str] = set()  # what the scripts run
    for script in scripts:
        if script in modules:
            outside |= reach(anywhere, script) | {script}
    roles: Dict[str, Role] = {}
    groups: Dict[str, Set[str]] = {}
    for user in users:
        owners = [app for app in app_paths if user in members[app]]
        if user in outside and owners:
            roles[user] = (PER_CALL, script_comment)
        elif len(owners) > 1:
            roles[user] = (PER_CALL, two_apps)
        elif owners:
            groups.setdefault(owners[0], set()).add(user)
    cpu = program.facts.get("cpu_to_executor")
    for app, group in sorted(groups.items()):
        others = sorted(group - {app})
        held = [path for path in sorted(members[app]) if path in existing and path != app]
        if not others and not held:
            continue  # the app module's own resource
        state = apps[app]
        if state not in ("new", "own") or (state == "new" and getattr(cpu, "app_events", False)):
            roles.update((user, (PER_CALL, wired)) for user in others)
            continue
        candidates = held + [path for path in others if path in free]
        candidates = [
            path
            for path in candidates
            if sum(path in members[other] for other in app_paths) == 1
            and _complete(program, reach(at_import, path) | {path})
        ]
        host = choose_host(candidates, [*group, app], at_import)
        name = None
        if host is not None:
            name = next(
                (
                    dotted
                    for dotted in module_names(host, program.root)
                    if all(resolver.module(dotted, user) == host for user in [*group, app])
                ),
                None,
            )
        if host is None or name is None:
            roles.update((user, (PER_CALL, cycle)) for user in others)
            continue
        roles[host] = (HOST, tuple(sorted({*group, app} - {host})))
        for user in group - {host, app}:
            roles[user] = (USER, name)
        roles[app] = (APP, name, app in closes)
    return roles
