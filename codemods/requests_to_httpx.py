"""requests_to_httpx: blocking HTTP calls in a coroutine become awaited ``httpx.AsyncClient`` calls.

Why: ``requests.get()`` (or ``urllib.request.urlopen()``, sync ``httpx.get()`` / ``httpx.Client``)
inside an ``async def`` blocks the event loop for the whole round trip (ruff/flake8-async
ASYNC210/ASYNC212, https://docs.astral.sh/ruff/rules/blocking-http-call-in-async-function/).
httpx's defaults differ from requests' in ways a naive rewrite silently changes (httpx
``docs/compatibility.md``); this codemod writes those differences out.

Before -> after, in the module that makes the FastAPI app (requests_clients.py)::

    import requests                          import httpx
                                             ...
                                             _HTTP_CLIENTS = weakref.WeakKeyDictionary()
                                             def http_client() -> httpx.AsyncClient: ...

    app = FastAPI()                          app = FastAPI(lifespan=lifespan)  # closes it

    @app.get("/q")                           @app.get("/q")
    async def fetch(q):                      async def fetch(q):
        r = requests.get(URL, params=q)  ->      r = await http_client().get(URL, params=q)
        return r.json()                          return r.json()

The client shape (a design choice): one client per app where the app has a place to close it
(requests_clients.py says why it is made on first use and keeps no cookies), held by a module the
app imports when other modules of the app use it too (requests_hosts.py). Elsewhere, one
``async with httpx.AsyncClient(...)`` per coroutine, wrapping the span of its top-level
statements that make requests, so every call of the function (loops included) shares one client,
and one SSL context per module, built once at import and passed as ``verify=``: building a
client's SSL context (loading the CA bundle) costs ~35-60 ms of blocking CPU, a client built on a
shared context ~0.2 ms (``benchmarks/httpx_client_cost.py``). A comment above such a client says
why it is not the shared one (no app in the module, per-call ``verify=``/``cert=``/``cookies=``,
an app whose shutdown asyncfix does not extend). ``verify="ca.pem"`` (a string, or a module
constant holding one: the path of a CA bundle, as requests documents it) becomes
``ssl.create_default_context(cafile=...)`` (httpx 0.28 deprecates a str); ``-> requests.Response``
of a converted function becomes ``-> httpx.Response``.

Parts: requests_tables.py (argument and exception tables, the plan of a call), requests_clients.py
(the app's shared client, per-call client blocks), requests_blocks.py (which calls of a
coroutine share which client), requests_hosts.py (which module holds the app's client),
requests_arguments.py (one call's arguments), requests_sessions.py (session/client blocks),
requests_responses.py (response attributes, ``except`` clauses), requests_mocks.py (the tests'
mocks of requests under ``--migrate``).

Behaviour kept: ``follow_redirects=True`` and ``timeout=None`` on the client (requests follows
redirects and has no timeout); ``head()`` gets ``follow_redirects=False`` (as ``requests.head``),
``allow_redirects=`` becomes ``follow_redirects=``, a ``timeout=(connect, read)`` tuple becomes
``httpx.Timeout(read, connect=connect)``; ``data="..."``/``data=b"..."`` becomes ``content=``;
a body on get/head/options/delete uses ``client.request("GET", ...)``; ``verify=``, ``cert=`` and
``cookies=`` move to the client (calls with different client settings get clients of their own,
created side by side in the same ``async with``). On responses bound to a name: ``r.ok`` ->
``not r.is_error``, ``if r:`` -> ``if not r.is_error:``, ``r.reason`` -> ``r.reason_phrase``,
``r.url`` -> ``str(r.url)``. ``with requests.get(u, stream=True) as r:`` becomes
``async with client.stream("GET", u) as r:`` with ``for c in r.iter_content(n)`` ->
``async for c in r.aiter_bytes(n)``. ``except`` clauses whose ``try`` body makes a rewritten call
catch the httpx equivalents (a ``RequestException`` clause around ``r.json()`` also catches
``json.JSONDecodeError``, as requests' own JSON error was a ``RequestException``).
``with requests.Session() as s:`` and ``with httpx.Client() as c:`` become ``async with
httpx.AsyncClient(...)`` blocks with awaited calls. ``httpx.AsyncClient(app=app)`` (removed in
httpx 0.28) becomes ``AsyncClient(transport=httpx.ASGITransport(app=app))`` everywhere.

Not rewritten: anything in sync code (FastAPI runs sync routes in a threadpool; with ``--migrate``
native.py makes a requests helper async with its whole closure first, and requests_mocks.py
converts the tests' mocks of it), a local
``requests`` that is not the module, ``requests`` passed around as a value. Reported instead
(ASYNC210/ASYNC212): ``proxies=``/``hooks=``/``**kwargs``, a ``requests.auth`` object, client
settings computed inside the function after the client must exist, ``stream=True`` outside a
``with`` block, ``iter_lines()`` (bytes in requests, str in httpx), ``urllib.request.urlopen``,
a module-level ``requests.Session`` used from a coroutine (create an ``httpx.AsyncClient`` in the
app's lifespan instead), a session whose settings httpx cannot take (``s.verify = ...``,
``s.mount(...)``). HTTPX001: a rewritten response handed to other code, which may use
requests-only attributes. Known remaining differences: httpx's ``raise_for_status()`` also
raises on a final 1xx/3xx response (a ``304``, or a redirect not followed); a ``timeout=`` given
as a variable holding a 2-tuple is rejected by httpx at run time; httpx 0.28 serialises
``json=`` without spaces (the same JSON, other bytes); calls of one function share cookies on a
per-call client; the app's shared client drops cookies a redirect sets (requests carried them to
the redirect's target).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from .base import GENEXP, Codemod, awaited
from .fact_gates import RequestsToHttpxGate
from .requests_arguments import RequestArguments
from .requests_blocks import ClientBlocks
from .requests_clients import SESSION_COMMENT, SharedClient
from .requests_mock_conversion import MockConversion
from .requests_nodes import CallPlan, Collector, dotted
from .requests_responses import ResponseUses
from .requests_sessions import RequestSessions
from .requests_tables import (
    BLOCKING,
    HANDED_ON,
    HTTPX_SYNC_CLIENT,
    METHODS,
    NOT_MIGRATED,
    SESSION_CONSTRUCTORS,
    SSL_COMMENT,
    SSL_NAME,
    SYNC_CLIENT,
)


class RequestsToHttpx(
    RequestArguments,
    RequestSessions,
    ClientBlocks,
    SharedClient,
    ResponseUses,
    MockConversion,
    RequestsToHttpxGate,
    Codemod,
):
    DESCRIPTION = "requests / sync httpx / urlopen in async code -> awaited httpx.AsyncClient calls"
    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider, ParentNodeProvider)
    CODES = {
        BLOCKING: (
            "A blocking HTTP call (requests, sync httpx, urllib) in async code stalls the event\n"
            "loop for the whole round trip. asyncfix rewrites it to an awaited httpx.AsyncClient\n"
            "call when it can keep requests' behaviour; it reports the call instead when it\n"
            "cannot: proxies=/hooks=/**kwargs, requests.auth objects, client settings (verify=,\n"
            "cert=, cookies=) computed after the client must be created, stream=True outside a\n"
            "`with` block, iter_lines() (bytes in requests, str in httpx), urlopen(), a\n"
            "requests.Session created at module level (create one httpx.AsyncClient in the app's\n"
            "lifespan and close it there), or a call in a generator expression. Rewrite those\n"
            "by hand with httpx.AsyncClient, or run them with `await asyncio.to_thread(...)`."
        ),
        SYNC_CLIENT: (
            "A sync httpx.Client used in async code blocks the event loop. asyncfix turns\n"
            "`with httpx.Client(...) as c:` into `async with httpx.AsyncClient(...) as c:` with\n"
            "awaited calls; it reports clients it cannot convert (created outside a `with`,\n"
            "passed on, given a sync transport= or event_hooks=, or used with .stream())."
        ),
        NOT_MIGRATED: (
            "--migrate: a sync function that calls requests stays sync, with the tests that mock\n"
            "it, because something in its closure cannot change with it: a caller that cannot\n"
            "await (decorated, passed as a value, called at module level or from outside the\n"
            "project), another blocking call in it, or a test mock asyncfix cannot convert\n"
            "exactly (responses/requests_mock, side_effect functions, call-argument asserts).\n"
            "The message names the obstacle and the chain of callers. Remove it (or convert that\n"
            "part by hand, e.g. respx for responses), then rerun."
        ),
        HANDED_ON: (
            "A response that is now an httpx.Response is handed to other code (returned,\n"
            "passed as an argument, stored). httpx.Response differs from requests.Response:\n"
            "no .ok (use `not r.is_error`), .reason is .reason_phrase, .url is an httpx.URL,\n"
            "no __bool__, aiter_bytes()/aiter_lines() instead of iter_content()/iter_lines().\n"
            "Check the code that receives it."
        ),
    }

    # -- the first pass: the tests' mocks of requests (native.py decides, --migrate) -------------

    # -- analysis -------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._calls: Dict[int, CallPlan] = {}
        self._functions: Dict[int, Tuple[int, int, List[Tuple[str, cst.Call]]]] = {}
        self._renames: Dict[int, cst.BaseExpression] = {}  # original node id -> replacement
        self._handlers: Dict[int, cst.BaseExpression] = {}
        self._async_withs: Dict[int, Optional[cst.BaseExpression]] = {}
        self._async_fors: Dict[int, cst.BaseExpression] = {}
        self._apps: Set[int] = set()
        self._response_uses: List[cst.CSTNode] = []
        self._session_items: Set[int] = set()
        self._needs_context = False
        self._ssl_name = SSL_NAME
        self._ssl_exists = False
        self._plan_mocks(node)
        collector = Collector()
        node.visit(collector)
        self._find_ssl_context(node)
        self._plan_shared(node)
        self._plan(node, collector)

    def _position(self, node: cst.CSTNode) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        pos = self.get_metadata(PositionProvider, node)
        return (pos.start.line, pos.start.column), (pos.end.line, pos.end.column)

    def _inside(self, inner: cst.CSTNode, outer: cst.CSTNode) -> bool:
        (a, b), (c, d) = self._position(inner), self._position(outer)
        return c <= a and b <= d

    def _parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _plan(self, module: cst.Module, collector: Collector) -> None:
        functions: Dict[int, Tuple[cst.FunctionDef, List[Tuple[cst.Call, CallPlan]]]] = {}
        sessions = self._plan_sessions(collector)
        session_calls: Set[int] = set()
        for plan_calls in sessions.values():
            session_calls.update(plan_calls)
        unrewritten: List[cst.Call] = []
        streams: Dict[int, cst.With] = {}
        for with_node in collector.withs:
            if len(with_node.items) == 1 and isinstance(with_node.items[0].item, cst.Call):
                streams[id(with_node.items[0].item)] = with_node
        for call in collector.calls:
            if id(call) in session_calls:
                continue
            name = self._qualified(call.func)
            if name is None:
                self._check_module_session(call)
                continue
            if name in ("httpx.AsyncClient", "httpx.Client") and self._plan_app(call, name):
                continue
            if (
                name in SESSION_CONSTRUCTORS | HTTPX_SYNC_CLIENT
                and id(call) not in self._session_items
            ):
                if isinstance(self.coroutine_of(call), cst.FunctionDef) and not self.ignored(call):
                    self.report(
                        call,
                        BLOCKING if name in SESSION_CONSTRUCTORS else SYNC_CLIENT,
                        f"{name}() in a coroutine outside a `with` block: its calls block the event loop",
                        "use `async with httpx.AsyncClient(...) as client:` and await its calls",
                    )
                if name in SESSION_CONSTRUCTORS:
                    unrewritten.append(call)
                continue
            family = self._family(name)
            if family is None:
                if name.startswith("requests."):
                    unrewritten.append(call)
                continue
            where = self.coroutine_of(call)
            if where is None or self.ignored(call):
                if family == "requests":
                    unrewritten.append(call)
                continue
            code = BLOCKING
            if where is GENEXP:
                self.report(
                    call,
                    code,
                    f"{name}() in a generator expression inside a coroutine blocks the event loop",
                    "turn the generator expression into a loop or list comprehension, then rerun",
                )
                unrewritten.append(call)
                continue
            if family == "urllib":
                self.report(
                    call,
                    code,
                    "urllib.request.urlopen() in a coroutine blocks the event loop",
                    "use `await client.get(url)` on an httpx.AsyncClient (note: urlopen raises "
                    "HTTPError on 4xx/5xx, httpx only in raise_for_status())",
                )
                continue
            plan = self._plan_call(call, family, name.rsplit(".", 1)[1], streams.get(id(call)))
            if isinstance(plan, str):
                self.report(
                    call,
                    code,
                    f"{name}() in a coroutine blocks the event loop: {plan}",
                    "rewrite it with httpx.AsyncClient by hand, or `await asyncio.to_thread(...)`",
                )
                if family == "requests":
                    unrewritten.append(call)
                continue
            if not self.name_is_free(call, "httpx", "httpx"):
                self.report(
                    call,
                    code,
                    f"{name}() in a coroutine, but `httpx` is bound to something else here",
                    "rename the local `httpx`, then rerun",
                )
                if family == "requests":
                    unrewritten.append(call)
                continue
            assert isinstance(where, cst.FunctionDef)
            functions.setdefault(id(where), (where, []))[1].append((call, plan))
        for where, planned in functions.values():
            self._plan_function(module, where, planned)
        self._plan_excepts(collector, unrewritten)

    def _qualified(self, node: cst.CSTNode) -> Optional[str]:
        """The imported name of a plain dotted name (``requests.exceptions.HTTPError``); None
        for anything else, e.g. ``requests.get(u).json`` (see Codemod.imported_name)."""
        return self.imported_name(node)

    def _family(self, name: str) -> Optional[str]:
        prefix, _, method = name.rpartition(".")
        if method in METHODS and prefix in ("requests", "requests.api"):
            return "requests"
        if method in METHODS and prefix == "httpx":
            return "httpx"
        if name == "urllib.request.urlopen":
            return "urllib"
        return None

    # -- the transform ----------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self._mock_funcs or id(original) in self._mock_targets:
            return self._convert_mock(original, updated)
        if id(original) in self._apps:
            args = []
            for arg in updated.args:
                if arg.keyword and arg.keyword.value == "app":
                    transport = (
                        "ASGITransport"
                        if self._qualified(original.func) == "httpx.AsyncClient"
                        else "WSGITransport"
                    )
                    value = cst.Call(
                        func=dotted(f"httpx.{transport}"), args=[self._kw("app", arg.value)]
                    )
                    arg = arg.with_changes(keyword=cst.Name("transport"), value=value)
                    self.add_needed_import("httpx")
                args.append(arg)
            return updated.with_changes(args=args)
        plan = self._calls.get(id(original))
        if plan is None:
            return updated
        if plan.method == "aclose":
            return awaited(
                cst.Call(func=cst.Attribute(cst.Name(plan.receiver), cst.Name("aclose")))
            )
        args: List[cst.Arg] = [cst.Arg(value) for value in plan.leading]
        for index, keyword, transform in plan.actions:
            arg = updated.args[index]
            value = arg.value
            if transform == "timeout" and isinstance(value, cst.Tuple):
                connect, read = (e.value for e in value.elements)
                value = cst.Call(
                    func=dotted("httpx.Timeout"), args=[cst.Arg(read), self._kw("connect", connect)]
                )
            if keyword is None:
                args.append(cst.Arg(value))
            else:
                args.append(self._kw(keyword, value))
        args += [self._kw(k, v) for k, v in plan.extra]
        if plan.shared:
            receiver: cst.BaseExpression = self._shared_receiver()
        else:
            assert plan.receiver is not None
            receiver = cst.Name(plan.receiver)
        call = cst.Call(func=cst.Attribute(receiver, cst.Name(plan.method)), args=args)
        return call if plan.stream else awaited(call)

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_UnaryOperation(
        self, original: cst.UnaryOperation, updated: cst.UnaryOperation
    ) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_ExceptHandler(
        self, original: cst.ExceptHandler, updated: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        new = self._handlers.get(id(original))
        return updated if new is None else updated.with_changes(type=new)

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        if id(original) not in self._async_withs:
            return updated
        client = self._async_withs[id(original)]
        item = updated.items[0]
        leading = list(updated.leading_lines)
        if client is not None:
            item = item.with_changes(item=client)
            if self._shared_name is not None:
                # Beside the app's shared client, a reviewer asks why this one is not it.
                leading.append(cst.EmptyLine(comment=cst.Comment(SESSION_COMMENT)))
        return updated.with_changes(
            asynchronous=cst.Asynchronous(), items=[item], leading_lines=leading
        )

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        iterator = self._async_fors.get(id(original))
        if iterator is None:
            return updated
        return updated.with_changes(asynchronous=cst.Asynchronous(), iter=iterator)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        updated = self._finish_shared(updated)
        if not self._needs_context or self._ssl_exists:
            return updated
        body = list(updated.body)
        index = 0
        if body and m.matches(
            body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])
        ):
            index = 1
        while index < len(body) and m.matches(
            body[index], m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])
        ):
            index += 1
        statement = cst.parse_statement(f"{self._ssl_name} = httpx.create_ssl_context()\n")
        statement = statement.with_changes(
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(comment=cst.Comment(SSL_COMMENT))]
        )
        body.insert(index, statement)
        if index + 1 < len(body) and not body[index + 1].leading_lines:
            body[index + 1] = body[index + 1].with_changes(leading_lines=[cst.EmptyLine()])
        return updated.with_changes(body=body)
