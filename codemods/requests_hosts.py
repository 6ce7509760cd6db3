"""One HTTP client per app across its modules: which module holds it (requests_to_httpx).

requests_clients.py makes the app's shared client (``http_client()``) in the module that makes
the FastAPI app. A module the app imports (a helper calling ``requests.post``) cannot import it
from there: the app module imports the helper, so that import would be a cycle. Over the whole
program (``RequestsToHttpx.analyse``), this module decides, per app:

* the *users*: modules whose coroutines (or functions the await analysis makes async, as under
  ``--migrate``) call ``requests.<method>(...)`` with nothing that keeps a client of its own;
* the *host*: a module that already holds the client from an earlier run, else one of the users
  other than the app module, that imports none of the other users nor the app module (then no
  import asyncfix adds makes a cycle: app_graph.py), and has the names the client needs free;
* each user imports ``http_client`` from the host; the host defines it and
  ``close_http_client()``; the app's lifespan awaits ``close_http_client()``.

A module imported by two apps keeps a client per call (neither app would own a shared one),
and so do the users of an app when every choice of host makes a cycle, or when the app wires its
startup/shutdown in a way asyncfix does not extend; the comment above the client says which.
An app whose only user is the app module itself keeps requests_clients.py's in-module form.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Optional, Set, Tuple

from . import prefilter
from .app_graph import choose_host, import_graph, reach
from .program_facts import ModuleFacts, Program
from .requests_tables import METHODS
from .resolve import external, module_names

HOSTS_KEY = "requests_to_httpx.hosts"  # ProjectIndex.facts: path -> Role
SHARED_NAME = "http_client"
CLIENTS_NAME = "_HTTP_CLIENTS"
CLOSE_NAME = "close_http_client"
HOST_NAMES = (SHARED_NAME, CLIENTS_NAME, CLOSE_NAME)
# Keywords that give a call a client of its own (requests_clients.py) or keep it unrewritten.
OWN_CLIENT = frozenset({"verify", "cert", "cookies", "proxies", "hooks"})

# Above a client made per call, why it is not the app's (each fits 88 columns at the indent of
# a nested function).
NO_APP_COMMENT = "# A client per call: no app in this module to open and close a shared one."
WIRED_COMMENT = "# A client per call: asyncfix does not extend how this app starts and stops."
TWO_APPS_COMMENT = "# A client per call: two apps import this module; neither closes a shared one."
CYCLE_COMMENT = "# A client per call: sharing the app's would make an import cycle."

# Roles (ProjectIndex.facts[HOSTS_KEY][path]):
HOST = "host"  # (HOST,): defines http_client() and close_http_client()
USER = "user"  # (USER, module): imports http_client from `module`
APP = "app"  # (APP, module, closes): USER, and its lifespan awaits close_http_client()
PER_CALL = "per-call"  # (PER_CALL, comment)
Role = Tuple


@dataclass(frozen=True)
class ClientFacts:
    """What one file says about the app's shared client (the first pass)."""

    app: str = ""  # "" no module-level FastAPI app; "new"/"own" lifespan; else why not closable
    closes: bool = False  # imports close_http_client (an earlier run wired it)
    hosts: bool = False  # defines http_client, _HTTP_CLIENTS and close_http_client
    free: bool = False  # could host: the names the client needs are free
    calls: Tuple[Tuple[int, str, bool], ...] = ()  # (def line, name, async) calling requests


def _own_body(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions or classes nested in it."""
    todo: List[ast.AST] = list(getattr(function, "body", []))
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))


def _plain_request(call: ast.Call, imports: Mapping[str, Tuple[int, str, str]]) -> bool:
    """``requests.get(...)`` (any import of it) with nothing that needs a client of its own."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if imports.get(func.value.id) not in ((0, "requests", ""), (0, "requests.api", "")):
            return False
        method = func.attr
    elif isinstance(func, ast.Name):
        bound = imports.get(func.id)
        if not bound or bound[0] or bound[1] not in ("requests", "requests.api"):
            return False
        method = bound[2]
    else:
        return False
    return method in METHODS and all(
        k.arg is not None and k.arg not in OWN_CLIENT for k in call.keywords
    )


def _makes_app(tree: ast.Module, module: ModuleFacts) -> bool:
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


def _bound_otherwise(tree: ast.Module, name: str) -> bool:
    """Whether ``name`` is bound by anything but an import somewhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        if isinstance(node, ast.arg) and node.arg == name:
            return True
    return False


def _can_host(tree: ast.Module, source: bytes, module: ModuleFacts) -> bool:
    """The names requests_clients.py's client needs are free (its ``_plan_shared`` checks)."""
    if any(name.encode() in source for name in HOST_NAMES):
        return False
    for name in ("asyncio", "weakref"):
        if module.imports.get(name, (0, name, "")) != (0, name, "") or _bound_otherwise(tree, name):
            return False
    for name in ("CookieJar", "DefaultCookiePolicy"):
        bound = module.imports.get(name)
        if bound is None and name.encode() in source:
            return False
        if bound is not None and bound != (0, "http.cookiejar", name):
            return False
    return True


def collect(tree: ast.Module, source: bytes, module: ModuleFacts) -> Optional[ClientFacts]:
    calls = []
    if b"requests" in source:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                isinstance(inner, ast.Call) and _plain_request(inner, module.imports)
                for inner in _own_body(node)
            ):
                calls.append((node.lineno, node.name, isinstance(node, ast.AsyncFunctionDef)))
    app = ""
    if _makes_app(tree, module):
        from .app_state import app_state  # libcst: only for a module that makes an app

        app = app_state(source, module)
    hosts = all(name in module.defs for name in (SHARED_NAME, CLOSE_NAME)) and (
        CLIENTS_NAME.encode() in source
    )
    if not (calls or app or hosts):
        return None
    return ClientFacts(
        app=app,
        closes=CLOSE_NAME in module.imports,
        hosts=hosts,
        free=bool(calls) and _can_host(tree, source, module),
        calls=tuple(sorted(calls)),
    )


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


def decide(program: Program, facts: Mapping[str, ClientFacts]) -> Dict[str, Role]:
    """path -> its role in its app's shared client (the module docstring); paths without one
    keep requests_clients.py's per-module rules."""
    modules, resolver = program.modules, program.resolver
    if not modules or resolver is None:
        return {}
    users = []
    for path, found in facts.items():
        actions = program.actions.get(path)
        made = actions.make_async if actions is not None else frozenset()
        if any(is_async or (line, name) in made for line, name, is_async in found.calls):
            users.append(path)
    apps = [path for path, found in facts.items() if found.app and path in modules]
    if not users or not apps:
        return {}
    anywhere = import_graph(modules, resolver, module_level=False)
    at_import = import_graph(modules, resolver, module_level=True)
    members = {app: reach(anywhere, app) | {app} for app in apps}
    roles: Dict[str, Role] = {}
    groups: Dict[str, Set[str]] = {}
    for user in users:
        owners = [app for app in apps if user in members[app]]
        if len(owners) > 1:
            roles[user] = (PER_CALL, TWO_APPS_COMMENT)
        elif owners:
            groups.setdefault(owners[0], set()).add(user)
    cpu = program.facts.get("cpu_to_executor")
    for app, group in sorted(groups.items()):
        others = sorted(group - {app})
        existing = [
            path
            for path in sorted(members[app])
            if path in facts and facts[path].hosts and path != app
        ]
        if not others and not existing:
            continue  # the app module's own client (requests_clients.py)
        state = facts[app].app
        if state not in ("new", "own") or (state == "new" and getattr(cpu, "app_events", False)):
            roles.update((user, (PER_CALL, WIRED_COMMENT)) for user in others)
            continue
        candidates = existing + [path for path in others if facts[path].free]
        candidates = [
            path
            for path in candidates
            if sum(path in members[other] for other in apps) == 1
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
            roles.update((user, (PER_CALL, CYCLE_COMMENT)) for user in others)
            continue
        roles[host] = (HOST,)
        for user in group - {host, app}:
            roles[user] = (USER, name)
        roles[app] = (APP, name, facts[app].closes)
    return roles
