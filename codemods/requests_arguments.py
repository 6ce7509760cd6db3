"""How one requests/httpx call maps onto an ``httpx.AsyncClient`` call (``requests_to_httpx``):
positional and keyword arguments, per-request vs client settings, streamed responses and the
``for`` loops over them. A mixin of ``RequestsToHttpx``: it uses the codemod's metadata and
reporting."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .requests_nodes import STRING, CallPlan, accesses_of
from .requests_tables import (
    API_POSITIONAL,
    BODYLESS,
    HTTPX_CLIENT_ONLY,
    HTTPX_PER_REQUEST,
    HTTPX_POSITIONAL,
    REQUESTS_CLIENT_ONLY,
    SAME,
)


class RequestArguments:
    """Planning of single calls (mixed into RequestsToHttpx)."""

    # -- one call ---------------------------------------------------------------------------------

    def _plan_call(
        self, call: cst.Call, family: str, method: str, with_node: Optional[cst.With]
    ) -> Union[str, CallPlan]:
        if family == "requests":
            plan = self._map_requests_args(call, method, API_POSITIONAL, client_only=True)
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
    ) -> Union[str, CallPlan]:
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
            elif keyword in SAME:
                if keyword == "auth" and self._is_requests_object(arg.value):
                    return "a requests.auth object (use a (user, password) tuple or an httpx.Auth)"
                transform = "timeout" if keyword == "timeout" else "keep"
                if (
                    transform == "timeout"
                    and isinstance(arg.value, cst.Tuple)
                    and len(arg.value.elements) != 2
                ):
                    return "timeout= tuple of unexpected length"
                actions.append((index, keyword, transform))
            elif keyword == "data":
                if isinstance(arg.value, (cst.List, cst.Tuple)):
                    return "data= as a sequence of pairs (httpx takes a dict)"
                actions.append(
                    (index, "content" if m.matches(arg.value, STRING) else "data", "keep")
                )
            elif keyword == "allow_redirects":
                actions.append((index, "follow_redirects", "keep"))
            elif keyword == "stream":
                if m.matches(arg.value, m.Name("True")):
                    stream = True
                elif not m.matches(arg.value, m.Name("False") | m.Name("None")):
                    return "stream= is not a literal True/False"
            elif keyword in REQUESTS_CLIENT_ONLY:
                if not client_only:
                    return (
                        f"per-request {keyword}= on a session (httpx takes it on the client only)"
                    )
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
        elif method in BODYLESS and has_body:
            leading.append(cst.SimpleString(f'"{method.upper()}"'))
            http_method = "request"
        return CallPlan(
            "requests", http_method, leading, actions, extra, client_kwargs, stream=stream
        )

    def _map_httpx_args(self, call: cst.Call, method: str) -> Union[str, CallPlan]:
        names = HTTPX_POSITIONAL[method]
        actions: List[Tuple[int, Optional[str], str]] = []
        client_kwargs: List[Tuple[str, cst.BaseExpression]] = []
        for index, arg in enumerate(call.args):
            if arg.star:
                return "`*args`/`**kwargs` cannot be split between client and request"
            if arg.keyword is None:
                if index >= len(names):
                    return "too many positional arguments"
                actions.append((index, None, "keep"))
            elif arg.keyword.value in HTTPX_CLIENT_ONLY:
                client_kwargs.append((arg.keyword.value, arg.value))
            elif arg.keyword.value in HTTPX_PER_REQUEST or arg.keyword.value in ("url", "method"):
                actions.append((index, arg.keyword.value, "keep"))
            else:
                return f"unknown argument {arg.keyword.value}="
        return CallPlan("httpx", method, [], actions, [], client_kwargs)

    def _is_requests_object(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Call):
            name = self._qualified(value.func)
            return bool(name and name.startswith("requests."))
        return False

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
        for access in accesses_of(scope, target.value) if scope else ():
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
                key = (
                    arg.keyword.value
                    if arg.keyword
                    else ("chunk_size", "decode_unicode")[min(index, 1)]
                )
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
