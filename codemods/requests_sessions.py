"""Clients of ``requests_to_httpx``: ``with requests.Session() as s:`` / ``with httpx.Client() as
c:`` blocks in a coroutine, the ``AsyncClient(...)`` that replaces them, ``httpx.AsyncClient(app=
app)`` (removed in httpx 0.28) and module-level sessions used from a coroutine (reported). A
mixin of ``RequestsToHttpx``."""

from __future__ import annotations

from typing import Dict, List, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .base import GENEXP
from .requests_tables import (
    AWAITED_CLIENT_METHODS,
    BLOCKING,
    HTTPX_SYNC_CLIENT,
    SESSION_CONSTRUCTORS,
    SESSION_POSITIONAL,
    SYNC_CLIENT,
    CallPlan,
    Collector,
    accesses_of,
    dotted,
)


class RequestSessions:
    """Session and client blocks (mixed into RequestsToHttpx)."""

    # -- with-blocks: sessions, sync httpx clients, streams -----------------------------------------

    def _plan_sessions(self, collector: Collector) -> Dict[int, Set[int]]:
        """`with requests.Session() as s:` / `with httpx.Client() as c:` in a coroutine."""
        planned: Dict[int, Set[int]] = {}
        for with_node in collector.withs:
            if with_node.asynchronous is not None or len(with_node.items) != 1:
                continue
            item = with_node.items[0]
            if not isinstance(item.item, cst.Call):
                continue
            name = self._qualified(item.item.func)
            if name in SESSION_CONSTRUCTORS:
                family, code = "requests", BLOCKING
            elif name in HTTPX_SYNC_CLIENT:
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
    ) -> Union[str, Tuple[Set[int], Dict[int, CallPlan]]]:
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
        plans: Dict[int, CallPlan] = {}
        for access in accesses_of(scope, target.value):
            if {id(a.node) for a in access.referents} != {id(target)}:
                return "the session's name is bound to something else too"
            use = access.node
            parent = self._parent(use)
            if not (isinstance(parent, cst.Attribute) and parent.value is use):
                return "the session is handed to other code"
            attr = parent.attr.value
            grand = self._parent(parent)
            is_call = isinstance(grand, cst.Call) and grand.func is parent
            if attr in AWAITED_CLIENT_METHODS or attr == "close":
                if not is_call:
                    return f"`.{attr}` used as a value"
                if self.coroutine_of(grand) is not where:
                    return "the session is used outside the coroutine's own body"
                if attr == "close":
                    plans[id(grand)] = CallPlan(family, "aclose", [], [], [], receiver=target.value)
                elif family == "requests" and attr != "send":
                    plan = self._map_requests_args(grand, attr, SESSION_POSITIONAL, client_only=False)
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
                    plans[id(grand)] = CallPlan(family, attr, [], actions, [], receiver=target.value)
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
        new += [
            a.with_changes(
                comma=cst.MaybeSentinel.DEFAULT,
                value=self._verify(a.value) if a.keyword and a.keyword.value == "verify" else a.value,
            )
            for a in args
        ]
        self.add_needed_import("httpx")
        self.drop_import_if_unused(call.func)
        self.rewrote()
        return cst.Call(func=dotted("httpx.AsyncClient"), args=new)

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
        if func.attr.value not in AWAITED_CLIENT_METHODS:
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
            if constructor in SESSION_CONSTRUCTORS | HTTPX_SYNC_CLIENT and self.coroutine_of(assign) is None:
                code = BLOCKING if constructor in SESSION_CONSTRUCTORS else SYNC_CLIENT
                self.report(call, code, f"a {constructor}() created outside the coroutine blocks the event loop here",
                            "create one httpx.AsyncClient in the app's lifespan (close it there) and await its calls")
                return
