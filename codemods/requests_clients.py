"""The clients rewritten calls run on (``requests_to_httpx``): the app's one ``httpx.AsyncClient``
(issue 19), or a client per function call, and what it is named.

``requests.get(...)`` in a coroutine of the module that makes the FastAPI app becomes
``await http_client().get(...)``, on one client for the whole app: one pool of connections, one
SSL context. httpx's docs recommend a client over its top-level functions for that reason, and
``requests``' functions made a new connection per call (measured on this project's machine, an
HTTPS server on loopback, 5 rounds of 100 sequential GETs, same run: a client per call 18.6 ms
per request, the shared client 11.1 ms, medians; the difference is the TLS handshake, more on a
real network). The client is emitted as::

    # The app's HTTP clients (added by asyncfix): event loop -> client, see http_client().
    _HTTP_CLIENTS: "weakref.WeakKeyDictionary[object, httpx.AsyncClient]" = (
        weakref.WeakKeyDictionary()
    )

    def http_client() -> httpx.AsyncClient:
        \"\"\"...\"\"\"
        loop = asyncio.get_running_loop()
        if loop not in _HTTP_CLIENTS:
            _HTTP_CLIENTS[loop] = httpx.AsyncClient(
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                follow_redirects=True,
                timeout=None,
            )
        return _HTTP_CLIENTS[loop]

and the app's lifespan (its own, when asyncfix can see where its shutdown runs, else a new one)
closes the client of its loop as ``close_http_client()`` does (``client =
_HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)``, then ``await client.aclose()`` if there
was one; ``client`` renamed if the lifespan uses it).
When other modules of the app call requests too, the client lives in one of them instead, with
``async def close_http_client()`` beside it, and the app's lifespan awaits that
(requests_hosts.py decides which module over the whole program; :meth:`SharedClient._plan_role`
applies its decision to a file).

Why these choices:

* created on first use, not in the lifespan: a test that uses ``TestClient(app)`` without
  ``with`` never runs the lifespan (TeKrop/overfast-api's 355 tests do that), and a client made
  there would not exist for them;
* one per event loop: a kept-alive connection belongs to the loop that opened it, and a client
  reused on another loop fails with "Event loop is closed" (measured: a cached client, a
  keep-alive upstream, three ``asyncio.run``; the second fails). Uvicorn runs one loop, but a
  ``TestClient`` used without ``with`` runs each request on a new one, and so do tests with a loop
  per test. The dictionary holds its loops weakly: a finished loop's client goes with it;
* a cookie jar that takes no cookies: ``requests.get`` started from an empty jar on every call;
  a shared jar would send one upstream response's cookies with every later request of any user.
  (Cookies set by a redirect are not carried to its target either: the one difference left.)
* ``follow_redirects=True``, ``timeout=None``: requests' defaults, as on the per-call clients.

A client per function call stays (``async with httpx.AsyncClient(...)``, a comment above it
says why) where sharing would change behaviour or has no owner: calls whose ``verify=``/
``cert=``/``cookies=`` hold for that call only, ``with requests.Session()`` blocks (their cookies
are the session's), sync ``httpx`` calls (httpx's defaults are not requests'), and modules that
make no app (library code: no lifespan to close a shared client) or whose app wires its
startup/shutdown in a way asyncfix does not extend (``on_event`` handlers, a lifespan of another
shape).
"""

from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from . import app_graph
from .app_graph import APP, HOST, PER_CALL
from .app_tokens import APP_EVENT_TOKENS
from .emit import (
    LIFESPAN,
    LifespanSite,
    close_with_app,
    insert_helper,
)
from .emit import lifespan_site as find_lifespan_site
from .requests_hosts import (
    CLIENTS_NAME,
    CLOSE_NAME,
    HOSTS_KEY,
    NO_APP_COMMENT,
    SHARED_NAME,
    WIRED_COMMENT,
)
from .requests_nodes import CallPlan

SESSION_COMMENT = "# A client of its own, as the session was: its cookies stay in this block."
SETTINGS_COMMENT = "# A client of its own: its verify=/cert=/cookies= hold for these calls only."
TAKEN_COMMENT = "# A client per call: `http_client` names something else in this module."
COOKIE_NAMES = ("CookieJar", "DefaultCookiePolicy")


class SharedClient:
    """The app's shared client and the per-call client blocks (mixed into RequestsToHttpx)."""

    def _plan_shared(self, module: cst.Module) -> None:
        """Whether this module's plain requests calls share one client: ``self._shared_name``
        (None: a client per function call, ``self._per_call_comment`` says why)."""
        self._shared_name: Optional[str] = None
        self._shared_exists = False
        self._shared_used = False
        self._shared_site: Optional[LifespanSite] = None
        self._per_call_comment = NO_APP_COMMENT
        self._host = False  # this module holds the client other modules of its app import
        self._shared_import: Optional[str] = None  # the module http_client comes from
        self._close_import: Optional[str] = None  # ... and close_http_client, for the lifespan
        is_app = lambda func: self.imported_name(func) == "fastapi.FastAPI"  # noqa: E731
        site = find_lifespan_site(module.body, is_app)
        role = app_graph.role(self.file.project, HOSTS_KEY, self.file.filename)
        if role is not None:
            self._plan_role(module, role, site)
            return
        if isinstance(site, str):
            if "no FastAPI app" not in site:
                self._per_call_comment = WIRED_COMMENT
            return
        source = self.file.source
        scope = self.get_metadata(ScopeProvider, module, None)
        if scope is None:
            return
        if site.function is None:
            # A new lifespan: Starlette runs it instead of on_event handlers, so none may exist
            # (in this file, or wired from another one: cpu_to_executor's first pass sees those).
            facts = self.file.project.get("cpu_to_executor")
            if any(token.decode() in source for token in APP_EVENT_TOKENS) or getattr(
                facts, "app_events", False
            ):
                self._per_call_comment = WIRED_COMMENT
                return
            if scope[LIFESPAN] or not all(
                isinstance(a.node, cst.ImportFrom)
                and m.matches(a.node.module, m.Name("contextlib"))
                for a in scope["asynccontextmanager"]
            ):
                self._per_call_comment = WIRED_COMMENT
                return
        if not (
            self.name_is_free(module, "asyncio", "asyncio")
            and self.name_is_free(module, "weakref", "weakref")
            and all(
                all(
                    isinstance(a.node, cst.ImportFrom)
                    and m.matches(a.node.module, m.Attribute(m.Name("http"), m.Name("cookiejar")))
                    for a in scope[name]
                )
                and (scope[name] or name not in source)
                for name in COOKIE_NAMES
            )
        ):
            return
        made = [a.node for a in scope[SHARED_NAME]]
        if len(made) == 1 and isinstance(made[0], cst.FunctionDef) and scope[CLIENTS_NAME]:
            # An earlier run made the app's client (and closes it): new calls use it too.
            self._shared_name, self._clients_name = SHARED_NAME, CLIENTS_NAME
            self._shared_site, self._shared_exists = site, True
            return
        number = 1
        while SHARED_NAME in source or CLIENTS_NAME in source:
            number += 1
            if f"{SHARED_NAME}_{number}" not in source and f"{CLIENTS_NAME}_{number}" not in source:
                break
        suffix = f"_{number}" if number > 1 else ""
        self._shared_name = f"{SHARED_NAME}{suffix}"
        self._clients_name = f"{CLIENTS_NAME}{suffix}"
        self._shared_site = site

    def _plan_role(self, module: cst.Module, role: tuple, site: object) -> None:
        """The module's part in a client shared across the modules of its app
        (requests_hosts.py decided it over the whole program)."""
        if role[0] == PER_CALL:
            self._per_call_comment = role[1]
            return
        scope = self.get_metadata(ScopeProvider, module, None)
        if scope is None:
            return
        made = [a.node for a in scope[SHARED_NAME]]
        if role[0] == HOST:
            self._shared_name, self._clients_name, self._host = SHARED_NAME, CLIENTS_NAME, True
            self.file.needs.update(role[1])  # its users: written with it or not at all
            self._shared_exists = any(isinstance(node, cst.FunctionDef) for node in made)
            return
        if role[0] == APP and not role[2] and isinstance(site, LifespanSite):
            self._close_import, self._shared_site = role[1], site
        if not all(isinstance(node, cst.ImportFrom) for node in made):
            self._per_call_comment = TAKEN_COMMENT
            return
        self._shared_name, self._shared_exists = SHARED_NAME, True
        self._shared_import = role[1]

    def _finish_shared(self, updated: cst.Module) -> cst.Module:
        """What the shared client adds to the module, once its calls are rewritten: the
        client (here, or imported from the module of the app that holds it), its close."""
        body = list(updated.body)
        if not self._shared_exists and (self._host or self._shared_used):
            self._add_shared(body, host=self._host)
        if self._shared_used and self._shared_import:
            self.add_needed_import(self._shared_import, SHARED_NAME)
        if self._close_import is not None:
            site = self._shared_site
            assert site is not None
            self.add_needed_import(self._close_import, CLOSE_NAME)
            if site.function is None:
                self.add_needed_import("contextlib", "asynccontextmanager")
            close_with_app(body, site, [cst.parse_statement(f"await {CLOSE_NAME}()\n")])
        return updated.with_changes(body=body)

    def _shared_receiver(self) -> cst.Call:
        self._shared_used = True
        return cst.Call(cst.Name(self._shared_name))  # type: ignore[arg-type]

    def _add_shared(self, body: List[cst.BaseStatement], host: bool = False) -> None:
        """The accessor after the imports, its close in the app's lifespan (``host``: in a
        function the lifespan of the app, in another module, awaits)."""
        name = self._shared_name
        site = self._shared_site
        assert name is not None and (host or site is not None)
        clients = self._clients_name
        for module in ("asyncio", "httpx", "weakref"):
            self.add_needed_import(module)
        for cookie in COOKIE_NAMES:
            self.add_needed_import("http.cookiejar", cookie)
        shutdown = self._close_in_lifespan(body, site, clients) if not host else []
        if not host and site.function is None:
            self.add_needed_import("contextlib", "asynccontextmanager")
        registry = cst.parse_statement(
            f'{clients}: "weakref.WeakKeyDictionary[object, httpx.AsyncClient]" = (\n'
            "    weakref.WeakKeyDictionary()\n"
            ")\n"
        ).with_changes(
            leading_lines=[
                cst.EmptyLine(
                    comment=cst.Comment(
                        f"# The app's HTTP clients (added by asyncfix): event loop -> client, see {name}()."
                    )
                )
            ]
        )
        helper = cst.parse_statement(
            f"def {name}() -> httpx.AsyncClient:\n"
            '    """The app\'s HTTP client (added by asyncfix): one connection pool for its calls.\n'
            "\n"
            "    Made on first use, so it exists whether or not the lifespan ran, and one per event\n"
            "    loop: a connection belongs to the loop that opened it (a TestClient used without\n"
            "    `with` runs each request on a new loop). The app's lifespan closes it. It keeps no\n"
            "    cookies: requests' functions started every call with an empty cookie jar.\n"
            '    """\n'
            "    loop = asyncio.get_running_loop()\n"
            f"    if loop not in {clients}:\n"
            f"        {clients}[loop] = httpx.AsyncClient(\n"
            "            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),\n"
            "            follow_redirects=True,\n"
            "            timeout=None,\n"
            "        )\n"
            f"    return {clients}[loop]\n"
        )
        if host:
            insert_helper(
                body,
                cst.parse_statement(
                    f"async def {CLOSE_NAME}() -> None:\n"
                    '    """Closes the running event loop\'s client '
                    '(the app\'s lifespan calls this)."""\n'
                    f"    client = {clients}.pop(asyncio.get_running_loop(), None)\n"
                    "    if client is not None:\n"
                    "        await client.aclose()\n"
                ),
            )
        else:
            # The lifespan first: its index is of the body as it is now.
            close_with_app(body, site, shutdown)  # type: ignore[arg-type]
        insert_helper(body, helper)
        insert_helper(body, registry, above=1)

    @staticmethod
    def _close_in_lifespan(
        body: List[cst.BaseStatement], site: Optional[LifespanSite], clients: str
    ) -> List[cst.BaseStatement]:
        """The lifespan's close of the running loop's client, as close_http_client() does it
        (one ``get_running_loop()``), under a name the lifespan does not use."""
        used: Set[str] = set()
        if site is not None and site.function is not None:
            used = {name.value for name in m.findall(body[site.function], m.Name())}
        name = next((n for n in ("client", "http_client_of_loop") if n not in used), None)
        if name is None:  # both taken: the form that needs no name
            return [
                cst.parse_statement(
                    f"if asyncio.get_running_loop() in {clients}:\n"
                    f"    await {clients}.pop(asyncio.get_running_loop()).aclose()\n"
                )
            ]
        return [
            cst.parse_statement(f"{name} = {clients}.pop(asyncio.get_running_loop(), None)\n"),
            cst.parse_statement(f"if {name} is not None:\n    await {name}.aclose()\n"),
        ]

    # -- a client per function call ------------------------------------------------------------

    @staticmethod
    def _client_name(used: Set[str], plan: CallPlan) -> str:
        """``client``; when the function has one already, a name that says what this one is
        for: its setting (``verify=INTERNAL_CA`` -> ``internal_ca_client``, ``cookies=`` ->
        ``cookies_client``) or its library's defaults (``httpx_client``); numbered last."""
        wanted = ["client"]
        for keyword, value in plan.client_kwargs:
            if isinstance(value, cst.Name) and keyword in ("verify", "cert"):
                wanted.append(f"{value.value.lower().strip('_')}_client")
            wanted.append(f"{keyword}_client")
        if plan.family == "httpx":
            wanted.append("httpx_client")
        for name in wanted:
            if name.isidentifier() and name not in used:
                return name
        suffix = 2
        while f"client_{suffix}" in used:
            suffix += 1
        return f"client_{suffix}"

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        plan = self._functions.get(id(original))
        if plan is None:
            return updated
        first, last, clients = plan
        body = updated.body
        if isinstance(body, cst.IndentedBlock):
            statements = list(body.body)
        else:
            statements = [cst.SimpleStatementLine(body=body.body)]
        wrapped = statements[first : last + 1]
        leading = wrapped[0].leading_lines
        wrapped[0] = wrapped[0].with_changes(leading_lines=[])
        why = SETTINGS_COMMENT if self._shared_name else self._per_call_comment
        leading = [*leading, cst.EmptyLine(comment=cst.Comment(why))]
        block = cst.With(
            items=[
                cst.WithItem(item=call, asname=cst.AsName(name=cst.Name(name)))
                for name, call in clients
            ],
            body=cst.IndentedBlock(body=wrapped),
            asynchronous=cst.Asynchronous(),
            leading_lines=leading,
        )
        statements[first : last + 1] = [block]
        if isinstance(body, cst.IndentedBlock):
            return updated.with_changes(body=body.with_changes(body=statements))
        return updated.with_changes(body=cst.IndentedBlock(body=statements))
