"""One HTTP client per app across its modules: which module holds it (requests_to_httpx).

requests_clients.py makes the app's shared client (``http_client()``) in the module that makes
the FastAPI app. A module the app imports (a helper calling ``requests.post``) cannot import it
from there: the app module imports the helper, so that import would be a cycle. Over the whole
program (``RequestsToHttpx.analyse``), this module decides, per app:

* the *users*: modules whose coroutines (or functions the await analysis makes async, as under
  ``--migrate``) call ``requests.<method>(...)`` with nothing that keeps a client of its own,
  where the rewrite takes the call (its arguments map to httpx, not in a generator expression,
  no opt-out, ``httpx`` free): a host always calls the client it defines;
* the *host*: a module that already holds the client from an earlier run, else one of the users
  other than the app module, that imports none of the other users nor the app module (then no
  import asyncfix adds makes a cycle: app_graph.py), and has the names the client needs free;
* each user imports ``http_client`` from the host; the host defines it and
  ``close_http_client()``; the app's lifespan awaits ``close_http_client()``.

A module imported by two apps keeps a client per call (neither app would own a shared one), as
does one a script imports that runs coroutines with ``asyncio.run`` (a CLI command made async
under ``--migrate``: nothing there would close the app's client when the script ends),
and so do the users of an app when every choice of host makes a cycle, or when the app wires its
startup/shutdown in a way asyncfix does not extend; the comment above the client says which.
An app whose only user is the app module itself keeps requests_clients.py's in-module form.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from .app_graph import Role, app_module_state, assign_hosts, script_entries
from .astwalk import binds_any, may_name, walk
from .program_facts import ModuleFacts, Program
from .requests_tables import API_POSITIONAL, METHODS, SAME

HOSTS_KEY = "requests_to_httpx.hosts"  # ProjectIndex.facts: path -> Role
SHARED_NAME = "http_client"
CLIENTS_NAME = "_HTTP_CLIENTS"
CLOSE_NAME = "close_http_client"
HOST_NAMES = (SHARED_NAME, CLIENTS_NAME, CLOSE_NAME)

# Above a client made per call, why it is not the app's (each fits 88 columns at the indent of
# a nested function).
NO_APP_COMMENT = "# A client per call: no app in this module to open and close a shared one."
WIRED_COMMENT = "# A client per call: asyncfix does not extend how this app starts and stops."
TWO_APPS_COMMENT = "# A client per call: two apps import this module; neither closes a shared one."
CYCLE_COMMENT = "# A client per call: sharing the app's would make an import cycle."
SCRIPT_COMMENT = "# A client per call: a script runs this module; it would not close a shared one."

# Roles (ProjectIndex.facts[HOSTS_KEY][path]) are app_graph's: HOST defines http_client() and
# close_http_client(), USER imports http_client, APP also awaits close_http_client() in its
# lifespan, PER_CALL keeps a client per call.


@dataclass(frozen=True)
class ClientFacts:
    """What one file says about the app's shared client (the first pass)."""

    app: str = ""  # "" no module-level FastAPI app; "new"/"own" lifespan; else why not closable
    closes: bool = False  # imports close_http_client (an earlier run wired it)
    hosts: bool = False  # defines http_client, _HTTP_CLIENTS and close_http_client
    free: bool = False  # could host: the names the client needs are free
    calls: Tuple[Tuple[int, str, bool], ...] = ()  # (def line, name, async) calling requests


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# The keywords requests_arguments.py maps to httpx one for one (checked in _rewritable).
_MAPPED = frozenset({"url", "method", "data", "allow_redirects", *SAME})


def _own_calls(function: ast.AST) -> Iterator[ast.Call]:
    """The calls a function's own body makes that its coroutine would await: not those of
    nested functions, classes or lambdas, of a generator expression, or of a comprehension in a
    comprehension (the rewrite leaves those, RequestsToHttpx._plan_calls)."""
    todo: List[Tuple[ast.AST, int]] = [(node, 0) for node in getattr(function, "body", [])]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Call) and depth <= 1:
            yield node
        if isinstance(node, _COMPREHENSIONS):
            inner = depth + (99 if isinstance(node, ast.GeneratorExp) else 1)
            first = node.generators[0]
            todo.append((first.iter, depth))  # evaluated by the enclosing scope
            todo.extend(
                (child, inner) for child in ast.iter_child_nodes(node) if child is not first
            )
            todo.extend(
                (child, inner) for child in ast.iter_child_nodes(first) if child is not first.iter
            )
            continue
        todo.extend((child, depth) for child in ast.iter_child_nodes(node))


def _plain_request(call: ast.Call, imports: Mapping[str, Tuple[int, str, str]]) -> bool:
    """``requests.get(...)`` (any import of it) with nothing that needs a client of its own,
    in a shape requests_arguments.py maps to httpx (where that cannot be told from the ast,
    no: the module then keeps a client per call, correct and unshared)."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if imports.get(func.value.id) not in (
            (0, "requests", ""),
            (0, "requests.api", ""),
        ):
            return False
        method = func.attr
    elif isinstance(func, ast.Name):
        bound = imports.get(func.id)
        if not bound or bound[0] or bound[1] not in ("requests", "requests.api"):
            return False
        method = bound[2]
    else:
        return False
    return method in METHODS and _rewritable(call, method)


def _rewritable(call: ast.Call, method: str) -> bool:
    """RequestsToHttpx._map_requests_args takes the arguments (or a stricter test)."""
    names = API_POSITIONAL[method]
    if len(call.args) > len(names) or any(isinstance(a, ast.Starred) for a in call.args):
        return False
    given = list(names[: len(call.args)])
    values = list(call.args)
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in _MAPPED:
            return False  # **kwargs, a client's own setting, stream=, proxies=, unknown
        given.append(keyword.arg)
        values.append(keyword.value)
    for keyword, value in zip(given, values):
        if keyword == "auth" and not isinstance(value, ast.Tuple):
            return False  # maybe a requests.auth object
        if keyword == "timeout" and isinstance(value, ast.Tuple) and len(value.elts) != 2:
            return False
        if keyword == "data" and isinstance(value, (ast.List, ast.Tuple)):
            return False
    return "url" in given


def _httpx_free(module: ModuleFacts, tree: ast.Module) -> bool:
    """``httpx`` unbound, or bound only by ``import httpx`` (else the rewrite leaves the calls)."""
    return module.imports.get("httpx", (0, "httpx", "")) == (0, "httpx", "") and not (
        binds_any(tree, ["httpx"])
    )


def _opted_out(call: ast.Call, module: ModuleFacts) -> bool:
    last = call.end_lineno or call.lineno
    return any(module.silenced(line, "requests_to_httpx") for line in range(call.lineno, last + 1))


def _can_host(tree: ast.Module, source: bytes, module: ModuleFacts) -> bool:
    """The names requests_clients.py's client needs are free (its ``_plan_shared`` checks)."""
    if any(name.encode() in source for name in HOST_NAMES):
        return False
    needed = ("asyncio", "weakref")
    if any(module.imports.get(name, (0, name, "")) != (0, name, "") for name in needed):
        return False
    if binds_any(tree, [name for name in needed if may_name(source, name)]):
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
        for node in walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                _plain_request(inner, module.imports) and not _opted_out(inner, module)
                for inner in _own_calls(node)
            ):
                calls.append((node.lineno, node.name, isinstance(node, ast.AsyncFunctionDef)))
        if calls and not _httpx_free(module, tree):  # (a whole walk: only when it matters)
            calls = []
    app = app_module_state(tree, source, module)
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


def decide(program: Program, facts: Mapping[str, ClientFacts]) -> Dict[str, Role]:
    """path -> its role in its app's shared client (the module docstring); paths without one
    keep requests_clients.py's per-module rules."""
    users = []
    for path, found in facts.items():
        actions = program.actions.get(path)
        made = actions.make_async if actions is not None else frozenset()
        if any(is_async or (line, name) in made for line, name, is_async in found.calls):
            users.append(path)
    return assign_hosts(
        program,
        users,
        {path: found.app for path, found in facts.items()},
        existing=[path for path, found in facts.items() if found.hosts],
        free=[path for path, found in facts.items() if found.free],
        closes=[path for path, found in facts.items() if found.closes],
        comments=(TWO_APPS_COMMENT, WIRED_COMMENT, CYCLE_COMMENT),
        scripts=script_entries(program),
        script_comment=SCRIPT_COMMENT,
    )
