"""Responses and ``except`` clauses of ``requests_to_httpx``: the uses of a rewritten response
that differ in httpx (``r.ok``, ``if r:``, ``r.reason``, ``r.url``, streamed bodies), responses
handed to other code (HTTPX001), and ``except requests.X`` clauses around rewritten calls. A
mixin of ``RequestsToHttpx``."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from .requests_nodes import CallPlan, Collector, accesses_of, dotted, source_of
from .requests_tables import BLOCKING, EXCEPTIONS, HANDED_ON


class ResponseUses:
    """Response attributes and exception clauses (mixed into RequestsToHttpx)."""

    # -- responses --------------------------------------------------------------------------------

    def _track(self, call: cst.Call, plan: CallPlan) -> None:
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
            self.report(
                call,
                HANDED_ON,
                "the httpx.Response of this call is handed to other code",
                "check that the receiver does not use requests-only attributes (.ok, .reason, iter_content)",
            )
            return
        if target is None:
            return
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return
        for access in accesses_of(scope, target.value):
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
                if not (
                    isinstance(grand, cst.Arg)
                    and m.matches(self._parent(grand), m.Call(func=m.Name("str")))
                ):
                    replacement = cst.Call(func=cst.Name("str"), args=[cst.Arg(parent)])
            elif attr == "iter_content" and stream:
                pass  # the `for` loop over it is planned with the stream
            elif attr in ("iter_content", "iter_lines", "raw", "apparent_encoding", "next"):
                self.report(
                    parent,
                    BLOCKING,
                    f"r.{attr} of a rewritten response has no direct httpx twin",
                    "stream with `async with client.stream(...) as r:` and aiter_bytes()/aiter_lines()",
                )
        elif isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)) and parent.test is use:
            replacement = self._not_error(use, parent, None)
        elif isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            node = parent
            replacement = cst.Attribute(cst.Name(use.value), cst.Name("is_error"))  # type: ignore[attr-defined]
        elif isinstance(parent, (cst.Arg, cst.Return, cst.Yield, cst.Element, cst.DictElement)) or (
            isinstance(parent, cst.Assign) and parent.value is use
        ):
            self.report(
                use,
                HANDED_ON,
                "a rewritten response (now an httpx.Response) is handed to other code",
                "check that the receiver does not use requests-only attributes (.ok, .reason, iter_content)",
            )
        if replacement is None:
            return
        if not pure:
            self.report(
                use,
                HANDED_ON,
                "this name holds an httpx.Response on one path only",
                "bind the rewritten response to a name of its own",
            )
            return
        self._renames[id(node)] = replacement

    @staticmethod
    def _not_error(
        use: cst.CSTNode, grand: Optional[cst.CSTNode], attribute: Optional[cst.Attribute]
    ) -> cst.BaseExpression:
        name = use.value  # type: ignore[attr-defined]
        is_error = cst.Attribute(cst.Name(name), cst.Name("is_error"))
        if (
            isinstance(grand, cst.UnaryOperation)
            and isinstance(grand.operator, cst.Not)
            and attribute is not None
        ):
            return is_error
        bare = isinstance(
            grand,
            (
                cst.If,
                cst.While,
                cst.IfExp,
                cst.Assert,
                cst.BooleanOperation,
                cst.Return,
                cst.Assign,
                cst.Arg,
                cst.Element,
                cst.DictElement,
            ),
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

    def _plan_excepts(self, collector: Collector, unrewritten: List[cst.Call]) -> None:
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
                        parent = (
                            self._parent(assignment.node)
                            if isinstance(assignment.node, cst.CSTNode)
                            else None
                        )
                        target_parent = self._parent(parent) if parent is not None else None
                        if (
                            isinstance(target_parent, cst.Assign)
                            and id(target_parent.value) in self._calls
                        ):
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
                new.append(source_of(element))
                continue
            short = name.rsplit(".", 1)[1]
            if short not in EXCEPTIONS or name not in (
                f"requests.{short}",
                f"requests.exceptions.{short}",
            ):
                self.report(
                    element,
                    BLOCKING,
                    f"`except {name}` guards a rewritten call but has no httpx twin here",
                    "catch the httpx exception that matches (https://www.python-httpx.org/exceptions/)",
                )
                return
            if keep_old:
                new.append(source_of(element))
            else:
                self.drop_import_if_unused(element)
            mapped = list(EXCEPTIONS[short])
            if short == "RequestException" and json_calls:
                mapped.append("json.JSONDecodeError")
            new.extend(mapped)
            changed = True
        if not changed:
            return
        if any(n.startswith("json.") for n in new):
            if not self.name_is_free(handler, "json", "json"):
                self.report(
                    handler,
                    BLOCKING,
                    "`json` is bound to something else here",
                    "rename it, then rerun",
                )
                return
            self.add_needed_import("json")
        self.add_needed_import("httpx")
        unique = list(dict.fromkeys(new))
        if len(unique) == 1:
            self._handlers[id(handler)] = dotted(unique[0])
        else:
            self._handlers[id(handler)] = cst.parse_expression("(" + ", ".join(unique) + ")")
