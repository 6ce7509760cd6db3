"""requests_to_httpx: blocking HTTP calls in a coroutine become awaited ``httpx.AsyncClient`` calls.

Why: ``requests.get()`` (or ``urllib.request.urlopen()``, sync ``httpx.get()`` / ``httpx.Client``)
inside an ``async def`` blocks the event loop for the whole round trip (ruff/flake8-async
ASYNC210/ASYNC212, https://docs.astral.sh/ruff/rules/blocking-http-call-in-async-function/).
httpx's defaults differ from requests' in ways a naive rewrite silently changes (httpx
``docs/compatibility.md``); this codemod writes those differences out.

Before -> after::

    import requests                          import httpx

                                             # One SSL context for every httpx client ...
                                             _HTTPX_SSL_CONTEXT = httpx.create_ssl_context()

    async def fetch(q):                      async def fetch(q):
        r = requests.get(URL, params=q)  ->      async with httpx.AsyncClient(
        return r.json()                              verify=_HTTPX_SSL_CONTEXT,
                                                     follow_redirects=True,
                                                     timeout=None,
                                                 ) as client:
                                                     r = await client.get(URL, params=q)
                                                 return r.json()

The client shape (a design choice): one ``async with httpx.AsyncClient(...)`` per coroutine,
wrapping the span of its top-level statements that make requests, so every call of the function
(loops included) shares one client, and one SSL context per module, built once at import and
passed as ``verify=``. Building a client's SSL context (loading the CA bundle) costs ~35-60 ms of
blocking CPU; a client built on a shared context costs ~0.2 ms (measured in
``benchmarks/httpx_client_cost.py``). A module-level or lazily created shared *client* would be
cheaper still, but it would change behaviour: requests' module functions start from an empty
cookie jar on every call, while a process-wide client keeps the cookies of one upstream response
for every later request, including other users' (a leak), and an ``AsyncClient`` is tied to the
event loop it first ran on. The per-function client keeps cookies within one function call only
(as a ``requests.Session`` would, and only between calls of that one function).

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

Not rewritten: anything in sync code (FastAPI runs sync routes in a threadpool), a local
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
``json=`` without spaces (the same JSON, other bytes); calls of one function share cookies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider

from .base import GENEXP, Codemod, awaited

BLOCKING = "ASYNC210"
SYNC_CLIENT = "ASYNC212"
HANDED_ON = "HTTPX001"

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
_BODYLESS = {"get", "head", "options", "delete"}
# Positional parameters of requests' functions (api module) and Session methods.
_API_POSITIONAL = {
    "get": ("url", "params"),
    "post": ("url", "data", "json"),
    "put": ("url", "data"),
    "patch": ("url", "data"),
    "delete": ("url",),
    "head": ("url",),
    "options": ("url",),
    "request": ("method", "url"),
}
_SESSION_POSITIONAL = {**_API_POSITIONAL, "get": ("url",)}
_HTTPX_POSITIONAL = {name: ("url",) for name in _METHODS if name != "request"}
_HTTPX_POSITIONAL["request"] = ("method", "url")
# Per-request keywords both libraries take as is.
_SAME = {"params", "headers", "json", "files", "auth", "timeout"}
_REQUESTS_CLIENT_ONLY = ("verify", "cert", "cookies")
_HTTPX_CLIENT_ONLY = ("verify", "cert", "cookies", "proxy", "trust_env")
_HTTPX_PER_REQUEST = {
    "params", "headers", "auth", "follow_redirects", "timeout", "content", "data", "files",
    "json", "extensions",
}
_SESSION_CONSTRUCTORS = {"requests.Session", "requests.session", "requests.sessions.Session"}
_HTTPX_SYNC_CLIENT = {"httpx.Client"}
_AWAITED_CLIENT_METHODS = set(_METHODS) | {"send"}

_EXCEPTIONS: Dict[str, Tuple[str, ...]] = {
    "RequestException": ("httpx.HTTPError", "httpx.InvalidURL"),
    "HTTPError": ("httpx.HTTPStatusError",),
    "ConnectionError": (
        "httpx.NetworkError",
        "httpx.ConnectTimeout",
        "httpx.RemoteProtocolError",
        "httpx.ProxyError",
    ),
    "Timeout": ("httpx.TimeoutException",),
    "ConnectTimeout": ("httpx.ConnectTimeout",),
    "ReadTimeout": ("httpx.ReadTimeout",),
    "TooManyRedirects": ("httpx.TooManyRedirects",),
    "InvalidURL": ("httpx.InvalidURL", "httpx.UnsupportedProtocol"),
    "MissingSchema": ("httpx.UnsupportedProtocol",),
    "InvalidSchema": ("httpx.UnsupportedProtocol",),
    "JSONDecodeError": ("json.JSONDecodeError",),
}

_SSL_NAME = "_HTTPX_SSL_CONTEXT"
_SSL_COMMENT = (
    "# One SSL context for every httpx client of this module: building one costs tens of ms of"
    " CPU."
)

_STRING = m.SimpleString() | m.ConcatenatedString() | m.FormattedString()


def _accesses(scope, name: str) -> list:
    """Every access of ``name`` as bound in ``scope``: ``scope.accesses`` holds only the
    scope's own, so a use in a comprehension or lambda inside it would be missed (a session
    call there would stay un-awaited after the session became an AsyncClient)."""
    found = {id(access): access for access in scope.accesses[name]}
    for assignment in scope.assignments[name]:
        for access in assignment.references:
            found.setdefault(id(access), access)
    return list(found.values())


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _dotted(name: str) -> cst.BaseExpression:
    return cst.parse_expression(name)


@dataclass
class _Call:
    """How one call is rewritten: built from the *updated* call's args at leave time."""

    family: str  # "requests" | "httpx"
    method: str  # the client method to call: get/post/.../request/stream
    leading: List[cst.BaseExpression]  # positional args put before the mapped ones
    actions: List[Tuple[int, Optional[str], str]]  # (arg index, keyword or None, transform)
    extra: List[Tuple[str, cst.BaseExpression]]  # keywords added at the end
    client_kwargs: List[Tuple[str, cst.BaseExpression]] = field(default_factory=list)
    receiver: Optional[str] = None  # the client name; None until the function is planned
    stream: bool = False  # `client.stream(...)`: an async context manager, not awaited
    # for a stream: the `with` statement to make async and its `for` loops (id -> new iterable)
    with_id: Optional[int] = None
    fors: Dict[int, cst.BaseExpression] = field(default_factory=dict)


class _Collector(cst.CSTVisitor):
    """The nodes the analysis needs, in source order."""

    def __init__(self) -> None:
        self.calls: List[cst.Call] = []
        self.tries: List[cst.Try] = []
        self.withs: List[cst.With] = []

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append(node)

    def visit_With(self, node: cst.With) -> None:
        self.withs.append(node)


class RequestsToHttpx(Codemod):
    NAME = "requests_to_httpx"
    DESCRIPTION = "requests / sync httpx / urlopen in async code -> awaited httpx.AsyncClient calls"
    NEEDS = (b"requests", b"httpx", b"urlopen")
    LOCAL = True
    # anything under these modules (any import style, module-level sessions included)
    ASYNC_TARGETS = frozenset({"requests", "httpx", "urllib.request"})
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
        HANDED_ON: (
            "A response that is now an httpx.Response is handed to other code (returned,\n"
            "passed as an argument, stored). httpx.Response differs from requests.Response:\n"
            "no .ok (use `not r.is_error`), .reason is .reason_phrase, .url is an httpx.URL,\n"
            "no __bool__, aiter_bytes()/aiter_lines() instead of iter_content()/iter_lines().\n"
            "Check the code that receives it."
        ),
    }

    # -- analysis -------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._calls: Dict[int, _Call] = {}
        self._functions: Dict[int, Tuple[int, int, List[Tuple[str, cst.Call]]]] = {}
        self._renames: Dict[int, cst.BaseExpression] = {}  # original node id -> replacement
        self._handlers: Dict[int, cst.BaseExpression] = {}
        self._async_withs: Dict[int, Optional[cst.BaseExpression]] = {}
        self._async_fors: Dict[int, cst.BaseExpression] = {}
        self._apps: Set[int] = set()
        self._response_uses: List[cst.CSTNode] = []
        self._session_items: Set[int] = set()
        self._needs_context = False
        self._ssl_name = _SSL_NAME
        self._ssl_exists = False
        collector = _Collector()
        node.visit(collector)
        self._find_ssl_context(node)
        self._plan(node, collector)

    def _find_ssl_context(self, module: cst.Module) -> None:
        taken = self.file.source
        for statement in module.body:
            target = m.SimpleStatementLine(
                body=[
                    m.Assign(
                        targets=[m.AssignTarget(target=m.Name())],
                        value=m.Call(func=m.Attribute(m.Name("httpx"), m.Name("create_ssl_context")), args=[]),
                    )
                ]
            )
            if m.matches(statement, target):
                self._ssl_name = statement.body[0].targets[0].target.value
                self._ssl_exists = True
                return
        suffix = 2
        while self._ssl_name in taken:
            self._ssl_name = f"{_SSL_NAME}_{suffix}"
            suffix += 1

    def _position(self, node: cst.CSTNode) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        pos = self.get_metadata(PositionProvider, node)
        return (pos.start.line, pos.start.column), (pos.end.line, pos.end.column)

    def _inside(self, inner: cst.CSTNode, outer: cst.CSTNode) -> bool:
        (a, b), (c, d) = self._position(inner), self._position(outer)
        return c <= a and b <= d

    def _parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _plan(self, module: cst.Module, collector: _Collector) -> None:
        functions: Dict[int, Tuple[cst.FunctionDef, List[Tuple[cst.Call, _Call]]]] = {}
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
            if name in _SESSION_CONSTRUCTORS | _HTTPX_SYNC_CLIENT and id(call) not in self._session_items:
                if isinstance(self.coroutine_of(call), cst.FunctionDef) and not self.ignored(call):
                    self.report(
                        call,
                        BLOCKING if name in _SESSION_CONSTRUCTORS else SYNC_CLIENT,
                        f"{name}() in a coroutine outside a `with` block: its calls block the event loop",
                        "use `async with httpx.AsyncClient(...) as client:` and await its calls",
                    )
                if name in _SESSION_CONSTRUCTORS:
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
                self.report(call, code, f"{name}() in a coroutine blocks the event loop: {plan}",
                            "rewrite it with httpx.AsyncClient by hand, or `await asyncio.to_thread(...)`")
                if family == "requests":
                    unrewritten.append(call)
                continue
            if not self.name_is_free(call, "httpx", "httpx"):
                self.report(call, code, f"{name}() in a coroutine, but `httpx` is bound to something else here",
                            "rename the local `httpx`, then rerun")
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
        if method in _METHODS and prefix in ("requests", "requests.api"):
            return "requests"
        if method in _METHODS and prefix == "httpx":
            return "httpx"
        if name == "urllib.request.urlopen":
            return "urllib"
        return None

    # -- one call ---------------------------------------------------------------------------------

    def _plan_call(
        self, call: cst.Call, family: str, method: str, with_node: Optional[cst.With]
    ) -> Union[str, _Call]:
        if family == "requests":
            plan = self._map_requests_args(call, method, _API_POSITIONAL, client_only=True)
        else:
            plan = self._map_httpx_args(call, method)
        if isinstance(plan, str):
            return plan
        if plan.stream:
            if with_node is None or with_node.asynchronous is not None:
                return "stream=True outside a `with` block (httpx streams in `async with client.stream(...)`)"
            fors = self._plan_stream_block(with_node)
            if isinstance(fors, str):
                return fors
            plan.with_id, plan.fors = id(with_node), fors
        return plan

    def _map_requests_args(
        self, call: cst.Call, method: str, positional: Dict[str, Tuple[str, ...]], client_only: bool
    ) -> Union[str, _Call]:
        names = positional[method]
        actions: List[Tuple[int, Optional[str], str]] = []
        client_kwargs: List[Tuple[str, cst.BaseExpression]] = []
        values: Dict[str, cst.BaseExpression] = {}
        stream = False
        for index, arg in enumerate(call.args):
            if arg.star:
                return "`*args`/`**kwargs` cannot be mapped to httpx's parameters"
            if arg.keyword is None:
                if index >= len(names):
                    return "too many positional arguments"
                keyword = names[index]
            else:
                keyword = arg.keyword.value
            values[keyword] = arg.value
            if keyword in ("url", "method"):
                actions.append((index, None, "keep"))
            elif keyword in _SAME:
                if keyword == "auth" and self._is_requests_object(arg.value):
                    return "a requests.auth object (use a (user, password) tuple or an httpx.Auth)"
                transform = "timeout" if keyword == "timeout" else "keep"
                if transform == "timeout" and isinstance(arg.value, cst.Tuple) and len(arg.value.elements) != 2:
                    return "timeout= tuple of unexpected length"
                actions.append((index, keyword, transform))
            elif keyword == "data":
                if isinstance(arg.value, (cst.List, cst.Tuple)):
                    return "data= as a sequence of pairs (httpx takes a dict)"
                actions.append((index, "content" if m.matches(arg.value, _STRING) else "data", "keep"))
            elif keyword == "allow_redirects":
                actions.append((index, "follow_redirects", "keep"))
            elif keyword == "stream":
                if m.matches(arg.value, m.Name("True")):
                    stream = True
                elif not m.matches(arg.value, m.Name("False") | m.Name("None")):
                    return "stream= is not a literal True/False"
            elif keyword in _REQUESTS_CLIENT_ONLY:
                if not client_only:
                    return f"per-request {keyword}= on a session (httpx takes it on the client only)"
                client_kwargs.append((keyword, arg.value))
            elif keyword == "proxies":
                return "proxies= (httpx takes proxy= or mounts= on the client)"
            elif keyword == "hooks":
                return "hooks= (httpx takes event_hooks= on the client, with async hooks)"
            else:
                return f"unknown argument {keyword}="
        if "url" not in values:
            return "no url"
        extra: List[Tuple[str, cst.BaseExpression]] = []
        has_body = any(k in values for k in ("data", "json", "files"))
        leading: List[cst.BaseExpression] = []
        http_method = method
        if method == "head" and "allow_redirects" not in values:
            extra.append(("follow_redirects", cst.Name("False")))
        if stream:
            if method == "request":
                http_method = "stream"
            else:
                leading.append(cst.SimpleString(f'"{method.upper()}"'))
                http_method = "stream"
        elif method in _BODYLESS and has_body:
            leading.append(cst.SimpleString(f'"{method.upper()}"'))
            http_method = "request"
        return _Call("requests", http_method, leading, actions, extra, client_kwargs, stream=stream)

    def _map_httpx_args(self, call: cst.Call, method: str) -> Union[str, _Call]:
        names = _HTTPX_POSITIONAL[method]
        actions: List[Tuple[int, Optional[str], str]] = []
        client_kwargs: List[Tuple[str, cst.BaseExpression]] = []
        for index, arg in enumerate(call.args):
            if arg.star:
                return "`*args`/`**kwargs` cannot be split between client and request"
            if arg.keyword is None:
                if index >= len(names):
                    return "too many positional arguments"
                actions.append((index, None, "keep"))
            elif arg.keyword.value in _HTTPX_CLIENT_ONLY:
                client_kwargs.append((arg.keyword.value, arg.value))
            elif arg.keyword.value in _HTTPX_PER_REQUEST or arg.keyword.value in ("url", "method"):
                actions.append((index, arg.keyword.value, "keep"))
            else:
                return f"unknown argument {arg.keyword.value}="
        return _Call("httpx", method, [], actions, [], client_kwargs)

    def _is_requests_object(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Call):
            name = self._qualified(value.func)
            return bool(name and name.startswith("requests."))
        return False

    # -- with-blocks: sessions, sync httpx clients, streams -----------------------------------------

    def _plan_sessions(self, collector: _Collector) -> Dict[int, Set[int]]:
        """`with requests.Session() as s:` / `with httpx.Client() as c:` in a coroutine."""
        planned: Dict[int, Set[int]] = {}
        for with_node in collector.withs:
            if with_node.asynchronous is not None or len(with_node.items) != 1:
                continue
            item = with_node.items[0]
            if not isinstance(item.item, cst.Call):
                continue
            name = self._qualified(item.item.func)
            if name in _SESSION_CONSTRUCTORS:
                family, code = "requests", BLOCKING
            elif name in _HTTPX_SYNC_CLIENT:
                family, code = "httpx", SYNC_CLIENT
            else:
                continue
            where = self.coroutine_of(with_node)
            if not isinstance(where, cst.FunctionDef) or self.ignored(item):
                continue
            self._session_items.add(id(item.item))
            problem = self._session_problem(with_node, family, where)
            if isinstance(problem, str):
                self.report(item.item, code, f"{name}() in a coroutine blocks the event loop: {problem}",
                            "use `async with httpx.AsyncClient(...)` and await its calls")
                continue
            calls, plans = problem
            planned[id(with_node)] = calls
            self._calls.update(plans)
            self._async_withs[id(with_node)] = self._client_call(family, item.item)
        return planned

    def _session_problem(
        self, with_node: cst.With, family: str, where: cst.FunctionDef
    ) -> Union[str, Tuple[Set[int], Dict[int, _Call]]]:
        item = with_node.items[0]
        call = item.item
        assert isinstance(call, cst.Call)
        if family == "requests" and call.args:
            return "arguments to Session()"
        if family == "httpx":
            for arg in call.args:
                if arg.star or (arg.keyword and arg.keyword.value in ("transport", "mounts", "event_hooks", "app")):
                    return "client arguments that have no async twin here (transport=, mounts=, event_hooks=)"
        if not self.name_is_free(call, "httpx", "httpx"):
            return "`httpx` is bound to something else here"
        if not m.matches(item.asname, m.AsName(name=m.Name())):
            return "the session is not bound to a name"
        target = item.asname.name
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return "unknown scope"
        calls: Set[int] = set()
        plans: Dict[int, _Call] = {}
        for access in _accesses(scope, target.value):
            if {id(a.node) for a in access.referents} != {id(target)}:
                return "the session's name is bound to something else too"
            use = access.node
            parent = self._parent(use)
            if not (isinstance(parent, cst.Attribute) and parent.value is use):
                return "the session is handed to other code"
            attr = parent.attr.value
            grand = self._parent(parent)
            is_call = isinstance(grand, cst.Call) and grand.func is parent
            if attr in _AWAITED_CLIENT_METHODS or attr == "close":
                if not is_call:
                    return f"`.{attr}` used as a value"
                if self.coroutine_of(grand) is not where:
                    return "the session is used outside the coroutine's own body"
                if attr == "close":
                    plans[id(grand)] = _Call(family, "aclose", [], [], [], receiver=target.value)
                elif family == "requests" and attr != "send":
                    plan = self._map_requests_args(grand, attr, _SESSION_POSITIONAL, client_only=False)
                    if isinstance(plan, str):
                        return f"s.{attr}(): {plan}"
                    if plan.stream:
                        return "stream=True on a session call"
                    plan.receiver = target.value
                    plans[id(grand)] = plan
                elif family == "requests":
                    return "s.send() of a requests PreparedRequest"
                else:
                    actions = [(i, None if a.keyword is None else a.keyword.value, "keep") for i, a in enumerate(grand.args)]
                    plans[id(grand)] = _Call(family, attr, [], actions, [], receiver=target.value)
                calls.add(id(grand))
            elif attr in ("stream",):
                return "client.stream() (rewrite it as `async with client.stream(...)` by hand)"
            elif family == "requests" and attr not in ("headers", "auth", "params", "cookies"):
                return f"s.{attr} has no httpx.AsyncClient twin"
        return calls, plans

    def _client_call(self, family: str, call: cst.Call) -> cst.Call:
        """The AsyncClient(...) that replaces a Session() / Client(...) (from the original args;
        Session() takes none and Client's arguments are never rewritten)."""
        args = [a for a in call.args]
        keywords = {a.keyword.value for a in args if a.keyword}
        new: List[cst.Arg] = []
        if not keywords & {"verify", "cert", "trust_env"}:
            self._needs_context = True
            new.append(self._kw("verify", cst.Name(self._ssl_name)))
        if family == "requests":
            new += [self._kw("follow_redirects", cst.Name("True")), self._kw("timeout", cst.Name("None"))]
        new += [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
        self.add_needed_import("httpx")
        self.drop_import_if_unused(call.func)
        self.rewrote()
        return cst.Call(func=_dotted("httpx.AsyncClient"), args=new)

    @staticmethod
    def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
        return cst.Arg(
            value=value,
            keyword=cst.Name(name),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )

    def _plan_stream_block(self, with_node: cst.With) -> Union[str, Dict[int, cst.BaseExpression]]:
        """The body of `with requests.get(u, stream=True) as r:`: `for x in r.iter_content(n)`
        becomes `async for x in r.aiter_bytes(n)`; other uses must not need the stream."""
        item = with_node.items[0]
        if not m.matches(item.asname, m.AsName(name=m.Name())):
            return "a streamed response not bound by `as name`"
        target = item.asname.name
        scope = self.get_metadata(ScopeProvider, target, None)
        fors: Dict[int, cst.BaseExpression] = {}
        for access in _accesses(scope, target.value) if scope else ():
            if {id(a.node) for a in access.referents} != {id(target)}:
                return "the response's name is bound to something else too"
            use = access.node
            if not self._inside(use, with_node.body):
                return "the streamed response is used after its `with` block"
            parent = self._parent(use)
            if not (isinstance(parent, cst.Attribute) and parent.value is use):
                continue
            attr = parent.attr.value
            if attr in ("iter_lines", "raw"):
                return f"r.{attr} (requests yields bytes lines / a urllib3 stream; rewrite by hand)"
            if attr != "iter_content":
                continue
            call = self._parent(parent)
            loop = self._parent(call) if isinstance(call, cst.Call) else None
            if not (isinstance(loop, cst.For) and loop.iter is call and loop.asynchronous is None):
                return "r.iter_content() outside the iterable of a `for` loop"
            chunk: Optional[cst.Arg] = None
            decode = False
            for index, arg in enumerate(call.args):
                key = arg.keyword.value if arg.keyword else ("chunk_size", "decode_unicode")[min(index, 1)]
                if key == "chunk_size":
                    chunk = arg
                elif key == "decode_unicode" and m.matches(arg.value, m.Name("True")):
                    decode = True
                elif key == "decode_unicode" and not m.matches(arg.value, m.Name("False")):
                    return "decode_unicode= is not a literal"
            method = "aiter_text" if decode else "aiter_bytes"
            args = []
            if chunk is not None and not m.matches(chunk.value, m.Name("None")):
                args = [cst.Arg(chunk.value)]
            fors[id(loop)] = cst.Call(
                func=cst.Attribute(cst.Name(target.value), cst.Name(method)), args=args
            )
        return fors

    # -- the client block of a coroutine ------------------------------------------------------------

    def _plan_function(
        self, module: cst.Module, where: cst.FunctionDef, planned: List[Tuple[cst.Call, _Call]]
    ) -> None:
        body = where.body
        statements: Sequence[cst.CSTNode] = body.body if isinstance(body, cst.IndentedBlock) else [body]
        indices = []
        for call, _ in planned:
            for index, statement in enumerate(statements):
                if self._inside(call, statement):
                    indices.append(index)
                    break
        first, last = min(indices), max(indices)
        start = self._position(statements[first])[0]
        used = {n.value for n in m.findall(where, m.Name())}
        groups: Dict[Tuple[str, str], str] = {}
        accepted: List[Tuple[str, cst.Call]] = []
        for call, plan in planned:
            for _, value in plan.client_kwargs:
                problem = self._late_value(value, where, start)
                if problem:
                    self.report(call, BLOCKING, f"blocking HTTP call in a coroutine: {problem}",
                                "compute the client settings before the first request of the function")
                    break
            else:
                key = (plan.family, repr([(k, _code(v)) for k, v in plan.client_kwargs]))
                if key not in groups:
                    groups[key] = self._free_name(used, "client")
                    used.add(groups[key])
                    accepted.append((groups[key], self._async_client(plan)))
                plan.receiver = groups[key]
                self._calls[id(call)] = plan
                if plan.with_id is not None:
                    self._async_withs[plan.with_id] = None
                    self._async_fors.update(plan.fors)
                self.drop_import_if_unused(call.func)
                self.rewrote()
        if accepted:
            self._functions[id(where)] = (first, last, accepted)
            self.add_needed_import("httpx")

    @staticmethod
    def _free_name(used: Set[str], base: str) -> str:
        name, suffix = base, 2
        while name in used:
            name = f"{base}_{suffix}"
            suffix += 1
        return name

    def _late_value(self, value: cst.BaseExpression, where: cst.FunctionDef, start: Tuple[int, int]) -> Optional[str]:
        """Why ``value`` cannot be evaluated where the client is created (None if it can)."""
        function_scope = self.get_metadata(ScopeProvider, where.body, None)
        for name in m.findall(value, m.Name()):
            scope = self.get_metadata(ScopeProvider, name, None)
            if scope is None:
                continue
            for assignment in scope[name.value]:
                if assignment.scope is not function_scope:
                    continue
                node = assignment.node
                if isinstance(node, cst.Param):
                    continue
                if isinstance(node, cst.CSTNode) and self._position(node)[0] < start:
                    continue
                return f"a client setting (`{name.value}`) is computed where the client does not exist yet"
        return None

    def _async_client(self, plan: _Call) -> cst.Call:
        keys = {k for k, _ in plan.client_kwargs}
        args: List[cst.Arg] = []
        if not keys & {"verify", "cert", "trust_env"}:
            self._needs_context = True
            args.append(self._kw("verify", cst.Name(self._ssl_name)))
        args += [self._kw(k, v) for k, v in plan.client_kwargs]
        if plan.family == "requests":
            args += [self._kw("follow_redirects", cst.Name("True")), self._kw("timeout", cst.Name("None"))]
        return cst.Call(func=_dotted("httpx.AsyncClient"), args=args)

    # -- responses --------------------------------------------------------------------------------

    def _track(self, call: cst.Call, plan: _Call) -> None:
        parent = self._parent(call)
        target: Optional[cst.Name] = None
        if plan.stream:
            with_item = parent
            if isinstance(with_item, cst.WithItem) and with_item.asname is not None:
                target = with_item.asname.name  # type: ignore[assignment]
        elif isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            if isinstance(parent.targets[0].target, cst.Name):
                target = parent.targets[0].target
        elif isinstance(parent, (cst.Return, cst.Arg)) and plan.method != "aclose":
            self.report(call, HANDED_ON, "the httpx.Response of this call is handed to other code",
                        "check that the receiver does not use requests-only attributes (.ok, .reason, iter_content)")
            return
        if target is None:
            return
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return
        for access in _accesses(scope, target.value):
            referents = {id(a.node) for a in access.referents}
            if id(target) not in referents:
                continue
            self._response_uses.append(access.node)
            self._response_use(access.node, referents == {id(target)}, plan.stream)

    def _response_use(self, use: cst.CSTNode, pure: bool, stream: bool) -> None:
        parent = self._parent(use)
        replacement: Optional[cst.BaseExpression] = None
        node: cst.CSTNode = use
        if isinstance(parent, cst.Attribute) and parent.value is use:
            node = parent
            attr = parent.attr.value
            grand = self._parent(parent)
            if attr == "ok":
                replacement = self._not_error(use, grand, parent)
                if isinstance(grand, cst.UnaryOperation) and isinstance(grand.operator, cst.Not):
                    node = grand
            elif attr == "reason":
                replacement = parent.with_changes(attr=cst.Name("reason_phrase"))
            elif attr == "url":
                if not (isinstance(grand, cst.Arg) and m.matches(self._parent(grand), m.Call(func=m.Name("str")))):
                    replacement = cst.Call(func=cst.Name("str"), args=[cst.Arg(parent)])
            elif attr == "iter_content" and stream:
                pass  # the `for` loop over it is planned with the stream
            elif attr in ("iter_content", "iter_lines", "raw", "apparent_encoding", "next"):
                self.report(parent, BLOCKING, f"r.{attr} of a rewritten response has no direct httpx twin",
                            "stream with `async with client.stream(...) as r:` and aiter_bytes()/aiter_lines()")
        elif isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)) and parent.test is use:
            replacement = self._not_error(use, parent, None)
        elif isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            node = parent
            replacement = cst.Attribute(cst.Name(use.value), cst.Name("is_error"))  # type: ignore[attr-defined]
        elif isinstance(parent, (cst.Arg, cst.Return, cst.Yield, cst.Element, cst.DictElement)) or (
            isinstance(parent, cst.Assign) and parent.value is use
        ):
            self.report(use, HANDED_ON, "a rewritten response (now an httpx.Response) is handed to other code",
                        "check that the receiver does not use requests-only attributes (.ok, .reason, iter_content)")
        if replacement is None:
            return
        if not pure:
            self.report(use, HANDED_ON, "this name holds an httpx.Response on one path only",
                        "bind the rewritten response to a name of its own")
            return
        self._renames[id(node)] = replacement

    @staticmethod
    def _not_error(use: cst.CSTNode, grand: Optional[cst.CSTNode], attribute: Optional[cst.Attribute]) -> cst.BaseExpression:
        name = use.value  # type: ignore[attr-defined]
        is_error = cst.Attribute(cst.Name(name), cst.Name("is_error"))
        if isinstance(grand, cst.UnaryOperation) and isinstance(grand.operator, cst.Not) and attribute is not None:
            return is_error
        bare = isinstance(
            grand,
            (cst.If, cst.While, cst.IfExp, cst.Assert, cst.BooleanOperation, cst.Return, cst.Assign,
             cst.Arg, cst.Element, cst.DictElement),
        )
        if isinstance(grand, cst.IfExp) and attribute is not None and grand.test is not attribute:
            bare = False
        return cst.UnaryOperation(
            operator=cst.Not(),
            expression=is_error,
            lpar=[] if bare else [cst.LeftParen()],
            rpar=[] if bare else [cst.RightParen()],
        )

    # -- except clauses ---------------------------------------------------------------------------

    def _plan_excepts(self, collector: _Collector, unrewritten: List[cst.Call]) -> None:
        rewritten = [c for c in collector.calls if id(c) in self._calls]
        for call in rewritten:
            self._track(call, self._calls[id(call)])
        for try_node in collector.tries:
            guarded = any(self._inside(c, try_node.body) for c in rewritten) or any(
                self._inside(use, try_node.body) for use in self._response_uses
            )
            if not guarded:
                continue
            keep_old = any(self._inside(c, try_node.body) for c in unrewritten)
            json_calls = any(
                self._inside(c, try_node.body)
                and m.matches(c.func, m.Attribute(attr=m.Name("json")))
                and self._is_response(c.func.value, rewritten)  # type: ignore[attr-defined]
                for c in collector.calls
            )
            for handler in try_node.handlers:
                if handler.type is not None:
                    self._plan_handler(handler, keep_old, json_calls)

    def _is_response(self, node: cst.BaseExpression, rewritten: List[cst.Call]) -> bool:
        if isinstance(node, cst.Call):
            return id(node) in self._calls
        if isinstance(node, cst.Name):
            scope = self.get_metadata(ScopeProvider, node, None)
            if scope is None:
                return False
            for access in scope.accesses[node.value]:
                if access.node is node:
                    for assignment in access.referents:
                        parent = self._parent(assignment.node) if isinstance(assignment.node, cst.CSTNode) else None
                        target_parent = self._parent(parent) if parent is not None else None
                        if isinstance(target_parent, cst.Assign) and id(target_parent.value) in self._calls:
                            return True
        return False

    def _plan_handler(self, handler: cst.ExceptHandler, keep_old: bool, json_calls: bool) -> None:
        assert handler.type is not None
        elements = (
            [e.value for e in handler.type.elements]
            if isinstance(handler.type, cst.Tuple)
            else [handler.type]
        )
        new: List[str] = []
        changed = False
        for element in elements:
            name = self._qualified(element)
            if name is None or not name.startswith("requests."):
                new.append(_code(element))
                continue
            short = name.rsplit(".", 1)[1]
            if short not in _EXCEPTIONS or name not in (f"requests.{short}", f"requests.exceptions.{short}"):
                self.report(element, BLOCKING, f"`except {name}` guards a rewritten call but has no httpx twin here",
                            "catch the httpx exception that matches (https://www.python-httpx.org/exceptions/)")
                return
            if keep_old:
                new.append(_code(element))
            else:
                self.drop_import_if_unused(element)
            mapped = list(_EXCEPTIONS[short])
            if short == "RequestException" and json_calls:
                mapped.append("json.JSONDecodeError")
            new.extend(mapped)
            changed = True
        if not changed:
            return
        if any(n.startswith("json.") for n in new):
            if not self.name_is_free(handler, "json", "json"):
                self.report(handler, BLOCKING, "`json` is bound to something else here", "rename it, then rerun")
                return
            self.add_needed_import("json")
        self.add_needed_import("httpx")
        unique = list(dict.fromkeys(new))
        if len(unique) == 1:
            self._handlers[id(handler)] = _dotted(unique[0])
        else:
            self._handlers[id(handler)] = cst.parse_expression("(" + ", ".join(unique) + ")")

    # -- httpx.AsyncClient(app=app) -------------------------------------------------------------------

    def _plan_app(self, call: cst.Call, name: str) -> bool:
        app = [a for a in call.args if a.keyword and a.keyword.value == "app"]
        if not app or self.ignored(call):
            return False
        if any(a.keyword and a.keyword.value == "transport" for a in call.args):
            self.report(call, SYNC_CLIENT, "both app= and transport= given", "keep the transport")
            return True
        if not self.name_is_free(call, "httpx", "httpx"):
            self.report(call, SYNC_CLIENT, f"{name}(app=...) was removed in httpx 0.28, but `httpx` "
                        "is bound to something else here", "rename the local `httpx`, then rerun")
            return True
        self._apps.add(id(call))
        self.rewrote()
        return True

    # -- module-level sessions ------------------------------------------------------------------------

    def _check_module_session(self, call: cst.Call) -> None:
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return
        if func.attr.value not in _AWAITED_CLIENT_METHODS:
            return
        where = self.coroutine_of(call)
        if where is None or where is GENEXP:
            return
        scope = self.get_metadata(ScopeProvider, func.value, None)
        if scope is None:
            return
        for assignment in scope[func.value.value]:
            target = assignment.node
            assign_target = self._parent(target) if isinstance(target, cst.CSTNode) else None
            assign = self._parent(assign_target) if assign_target is not None else None
            if not (isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)):
                continue
            constructor = self._qualified(assign.value.func)
            if constructor in _SESSION_CONSTRUCTORS | _HTTPX_SYNC_CLIENT and self.coroutine_of(assign) is None:
                code = BLOCKING if constructor in _SESSION_CONSTRUCTORS else SYNC_CLIENT
                self.report(call, code, f"a {constructor}() created outside the coroutine blocks the event loop here",
                            "create one httpx.AsyncClient in the app's lifespan (close it there) and await its calls")
                return

    # -- the transform ----------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self._apps:
            args = []
            for arg in updated.args:
                if arg.keyword and arg.keyword.value == "app":
                    transport = "ASGITransport" if self._qualified(original.func) == "httpx.AsyncClient" else "WSGITransport"
                    value = cst.Call(func=_dotted(f"httpx.{transport}"), args=[self._kw("app", arg.value)])
                    arg = arg.with_changes(keyword=cst.Name("transport"), value=value)
                    self.add_needed_import("httpx")
                args.append(arg)
            return updated.with_changes(args=args)
        plan = self._calls.get(id(original))
        if plan is None:
            return updated
        if plan.method == "aclose":
            return awaited(cst.Call(func=cst.Attribute(cst.Name(plan.receiver), cst.Name("aclose"))))
        args: List[cst.Arg] = [cst.Arg(value) for value in plan.leading]
        for index, keyword, transform in plan.actions:
            arg = updated.args[index]
            value = arg.value
            if transform == "timeout" and isinstance(value, cst.Tuple):
                connect, read = (e.value for e in value.elements)
                value = cst.Call(func=_dotted("httpx.Timeout"), args=[cst.Arg(read), self._kw("connect", connect)])
            if keyword is None:
                args.append(cst.Arg(value))
            else:
                args.append(self._kw(keyword, value))
        args += [self._kw(k, v) for k, v in plan.extra]
        assert plan.receiver is not None
        call = cst.Call(func=cst.Attribute(cst.Name(plan.receiver), cst.Name(plan.method)), args=args)
        return call if plan.stream else awaited(call)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_UnaryOperation(self, original: cst.UnaryOperation, updated: cst.UnaryOperation) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self._renames.get(id(original), updated)

    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        new = self._handlers.get(id(original))
        return updated if new is None else updated.with_changes(type=new)

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        if id(original) not in self._async_withs:
            return updated
        client = self._async_withs[id(original)]
        item = updated.items[0]
        if client is not None:
            item = item.with_changes(item=client)
        return updated.with_changes(asynchronous=cst.Asynchronous(), items=[item])

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        iterator = self._async_fors.get(id(original))
        if iterator is None:
            return updated
        return updated.with_changes(asynchronous=cst.Asynchronous(), iter=iterator)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
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

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self._needs_context or self._ssl_exists:
            return updated
        body = list(updated.body)
        index = 0
        if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])):
            index = 1
        while index < len(body) and m.matches(body[index], m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            index += 1
        statement = cst.parse_statement(f"{self._ssl_name} = httpx.create_ssl_context()\n")
        statement = statement.with_changes(
            leading_lines=[cst.EmptyLine(), cst.EmptyLine(comment=cst.Comment(_SSL_COMMENT))]
        )
        body.insert(index, statement)
        if index + 1 < len(body) and not body[index + 1].leading_lines:
            body[index + 1] = body[index + 1].with_changes(leading_lines=[cst.EmptyLine()])
        return updated.with_changes(body=body)
