"""Clients of ``requests_to_httpx``: ``with requests.Session() as s:`` / ``with httpx.Client() as
c:`` blocks in a coroutine, the ``AsyncClient(...)`` that replaces them, ``httpx.AsyncClient(app=
app)`` (removed in httpx 0.28), module-level sessions used from a coroutine (reported), and the
``AsyncClient(...)`` of a function's module-level calls with its settings: the module's shared SSL
context, ``verify=<CA bundle path>`` as an ``ssl`` context. A mixin of ``RequestsToHttpx``."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, ScopeProvider

from .base import GENEXP
from .requests_nodes import STRING, CallPlan, Collector, accesses_of, dotted
from .requests_tables import (
    AWAITED_CLIENT_METHODS,
    BLOCKING,
    HTTPX_SYNC_CLIENT,
    SESSION_CONSTRUCTORS,
    SESSION_POSITIONAL,
    SSL_NAME,
    SYNC_CLIENT,
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
                self.report(
                    item.item,
                    code,
                    f"{name}() in a coroutine blocks the event loop: {problem}",
                    "use `async with httpx.AsyncClient(...)` and await its calls",
                )
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
                if arg.star or (
                    arg.keyword
                    and arg.keyword.value in ("transport", "mounts", "event_hooks", "app")
                ):
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
                    plan = self._map_requests_args(
                        grand, attr, SESSION_POSITIONAL, client_only=False
                    )
                    if isinstance(plan, str):
                        return f"s.{attr}(): {plan}"
                    if plan.stream:
                        return "stream=True on a session call"
                    plan.receiver = target.value
                    plans[id(grand)] = plan
                elif family == "requests":
                    return "s.send() of a requests PreparedRequest"
                else:
                    actions = [
                        (i, None if a.keyword is None else a.keyword.value, "keep")
                        for i, a in enumerate(grand.args)
                    ]
                    plans[id(grand)] = CallPlan(
                        family, attr, [], actions, [], receiver=target.value
                    )
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
            new += [
                self._kw("follow_redirects", cst.Name("True")),
                self._kw("timeout", cst.Name("None")),
            ]
        new += [
            a.with_changes(
                comma=cst.MaybeSentinel.DEFAULT,
                value=(
                    self._verify(a.value) if a.keyword and a.keyword.value == "verify" else a.value
                ),
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
            self.report(
                call,
                SYNC_CLIENT,
                f"{name}(app=...) was removed in httpx 0.28, but `httpx` "
                "is bound to something else here",
                "rename the local `httpx`, then rerun",
            )
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
            if (
                constructor in SESSION_CONSTRUCTORS | HTTPX_SYNC_CLIENT
                and self.coroutine_of(assign) is None
            ):
                code = BLOCKING if constructor in SESSION_CONSTRUCTORS else SYNC_CLIENT
                self.report(
                    call,
                    code,
                    f"a {constructor}() created outside the coroutine blocks the event loop here",
                    "create one httpx.AsyncClient in the app's lifespan (close it there) and await its calls",
                )
                return

    # -- the AsyncClient(...) of a function, its SSL context and verify= ---------------------------

    def _find_ssl_context(self, module: cst.Module) -> None:
        taken = self.file.source
        for statement in module.body:
            target = m.SimpleStatementLine(
                body=[
                    m.Assign(
                        targets=[m.AssignTarget(target=m.Name())],
                        value=m.Call(
                            func=m.Attribute(m.Name("httpx"), m.Name("create_ssl_context")), args=[]
                        ),
                    )
                ]
            )
            if m.matches(statement, target):
                self._ssl_name = statement.body[0].targets[0].target.value
                self._ssl_exists = True
                return
        suffix = 2
        while self._ssl_name in taken:
            self._ssl_name = f"{SSL_NAME}_{suffix}"
            suffix += 1

    def _async_client(self, plan: CallPlan) -> cst.Call:
        keys = {k for k, _ in plan.client_kwargs}
        args: List[cst.Arg] = []
        if not keys & {"verify", "cert", "trust_env"}:
            self._needs_context = True
            args.append(self._kw("verify", cst.Name(self._ssl_name)))
        args += [
            self._kw(k, self._verify(v) if k == "verify" else v) for k, v in plan.client_kwargs
        ]
        if plan.family == "requests":
            args += [
                self._kw("follow_redirects", cst.Name("True")),
                self._kw("timeout", cst.Name("None")),
            ]
        return cst.Call(func=dotted("httpx.AsyncClient"), args=args)

    def _verify(self, value: cst.BaseExpression) -> cst.BaseExpression:
        """``verify=<path of a CA bundle>`` (a string, or a module constant holding one) in the
        form httpx 0.28 wants (a str is deprecated there): an SSL context that trusts only
        that bundle, as requests does. Built per client, when requests would have read it."""
        text = value
        if isinstance(value, cst.Name):
            text = self._module_string(value)
        if (
            text is None
            or not m.matches(text, STRING)
            or not self.name_is_free(value, "ssl", "ssl")
        ):
            return value
        self.add_needed_import("ssl")
        return cst.Call(func=dotted("ssl.create_default_context"), args=[self._kw("cafile", value)])

    def _module_string(self, name: cst.Name) -> Optional[cst.BaseExpression]:
        """The string a module-level constant is bound to, when it is bound once, to a string."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return None
        target = assignments[0].node
        assign = self._parent(self._parent(target)) if isinstance(target, cst.Name) else None
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
        return None
