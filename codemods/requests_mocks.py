"""Tests that mock ``requests``, for ``--migrate`` (``requests_to_httpx``; the decision is
native.py's).

When the native rung makes a requests helper async, ``requests.get`` there becomes an awaited
``httpx.AsyncClient.get``: a test's ``patch("app.mod.requests.get", return_value=r)`` would
miss it. The maintainers' fix (TeKrop/overfast-api, "Replaced requests with httpx") patches the
new call instead. Written out here, and only where it is exact:

- ``patch("[mod.]requests.get", ...)`` / ``patch.object(requests, "get", ...)`` (and the
  ``requests.api`` spellings) -> ``patch("httpx.AsyncClient.get", ...)`` /
  ``patch.object(httpx.AsyncClient, "get", ...)``. ``AsyncClient.get`` is an ``async def``, so
  ``patch`` makes an ``AsyncMock`` (Python 3.8+): awaiting the call gives ``return_value``, or
  raises / calls ``side_effect`` as before. The patch covers every ``AsyncClient`` (patching a
  module's ``requests`` covered that module only), so a project that uses ``AsyncClient`` itself
  is not converted.
- ``side_effect=requests.exceptions.Timeout("...")`` -> the httpx exception the rewritten
  ``except`` clause catches (``httpx.TimeoutException("...")``).

Anything else leaves the closure unchanged and is reported (HTTPX002, the hint names the test):
a mock bound to a name used for more than ``return_value``/``side_effect``/call counts (the
arguments of the httpx call differ), ``new=`` replacements, ``side_effect`` functions (they see
httpx's keywords), a response mock that sets attributes httpx names differently (``ok``,
``reason``, ``url``, ``iter_content``), ``responses`` / ``requests_mock`` (respx is their httpx
twin; not converted yet), ``monkeypatch.setattr`` of requests, and patches of requests' insides
(``requests.Session.request``, adapters), which intercept every requests call.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from .astwalk import dotted_text, iter_child_nodes, walk
from .program_facts import Import, ModuleFacts
from .requests_tables import EXCEPTIONS, METHODS

# requests exceptions a test may raise through a converted mock -> the httpx class raised instead
# (the first twin of requests_tables.EXCEPTIONS; constructed with the same single message).
MOCK_EXCEPTIONS: Dict[str, str] = {
    short: twins[0]
    for short, twins in EXCEPTIONS.items()
    if short not in ("HTTPError", "JSONDecodeError")  # HTTPStatusError needs request+response
}
# Response attributes whose httpx twin has another name or meaning: a mock that sets them (or a
# converted function that reads them) would behave differently after the rewrite.
RENAMED_ATTRIBUTES = frozenset(
    {
        "ok",
        "reason",
        "url",
        "iter_content",
        "iter_lines",
        "raw",
        "apparent_encoding",
        "next",
        "links",
    }
)
_PATCHERS = frozenset({"patch", "mock.patch", "unittest.mock.patch"})
_MOCK_LIBRARIES = frozenset({"responses", "requests_mock"})
_SAFE_MOCK_USES = frozenset(
    {
        "return_value",
        "side_effect",
        "called",
        "call_count",
        "assert_called",
        "assert_called_once",
        "assert_not_called",
        "reset_mock",
    }
)


@dataclass(frozen=True)
class MockSite:
    """One place a test replaces requests."""

    line: int  # of the patch call (or of the import of a mocking library)
    column: int  # 0-based, as ``ast`` gives it
    test: str  # the enclosing test function ("" at module level), for the report
    api: str  # "requests.get"; "requests" when it replaces everything
    module: str  # the module whose `requests` is patched; "" for requests itself
    problem: str = ""  # why it cannot be converted; "" when it can
    local: str = ""  # for "mod.name" targets: the name as mod binds it (resolved by native.py)


@dataclass(frozen=True)
class RequestsFacts:
    """What ``requests_to_httpx`` collects per file for the native rung (native.py)."""

    mocks: Tuple[MockSite, ...] = ()
    # lines of sync defs that call requests and read a response attribute httpx renames
    renaming_defs: FrozenSet[int] = frozenset()
    uses_async_client: bool = False  # the file uses httpx.AsyncClient itself


class _Collector(ast.NodeVisitor):
    def __init__(self, module: ModuleFacts) -> None:
        self.imports: Dict[Tuple[int, int], List[Import]] = {}
        for entry in module.imported:
            self.imports.setdefault((entry.line, entry.column), []).append(entry)
        self.requests_names: Set[str] = set()  # local names of the requests module
        self.requests_functions: Dict[str, str] = (
            {}
        )  # `from requests import get` -> get: requests.get
        self.mocks: List[MockSite] = []
        self.renaming: Set[int] = set()
        self.uses_async_client = False
        self.test = ""
        self._seen: Set[int] = set()  # patch calls already handled with their binding
        self.parents: Dict[int, ast.AST] = {}

    # -- imports: as the first pass read them (ModuleFacts.imported), met where they stand

    def visit_Import(self, node: ast.AST) -> None:
        entries = self.imports.get((node.lineno, node.col_offset), ())
        for entry in entries:
            if entry.name:  # from-import
                continue
            if entry.module in ("requests", "requests.api"):
                self.requests_names.add(entry.asname or entry.module)
            if entry.module.split(".")[0] in _MOCK_LIBRARIES:
                self._library(node, entry.module)
        from_imports = [entry for entry in entries if entry.name and not entry.level]
        module = from_imports[0].module if from_imports else ""
        if module.split(".")[0] in _MOCK_LIBRARIES:
            self._library(node, module)
        for entry in from_imports if module in ("requests", "requests.api") else ():
            self.requests_functions[entry.local] = f"requests.{entry.name}"
        if module == "httpx" and any(entry.name == "AsyncClient" for entry in from_imports):
            self.uses_async_client = True

    visit_ImportFrom = visit_Import

    def _library(self, node: ast.AST, name: str) -> None:
        self.mocks.append(
            MockSite(
                node.lineno,
                node.col_offset,
                self.test,
                "requests",
                "",
                f"`{name.split('.')[0]}` mocks requests (its httpx twin, respx, is not written by asyncfix)",
            )
        )

    # -- defs

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer = self.test
        self.test = node.name if not outer else outer
        if self._calls_requests(node) and self._reads_renamed(node):
            self.renaming.add(node.lineno)
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and self._patcher(decorator):
                bound = self._decorator_param(node, decorator)
                self._patch(decorator, bound=bound, body=node.body)
                self._seen.add(id(decorator))
        self.generic_visit(node)
        self.test = outer

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _calls_requests(self, node: ast.AST) -> bool:
        for child in walk(node):
            if isinstance(child, ast.Call):
                name = dotted_text(child.func)
                root = name.split(".")[0]
                if root in self.requests_names or name in self.requests_functions:
                    return True
        return False

    @staticmethod
    def _reads_renamed(node: ast.AST) -> bool:
        return any(
            isinstance(child, ast.Attribute) and child.attr in RENAMED_ATTRIBUTES
            for child in ast.walk(node)
        ) or any(
            isinstance(child, (ast.If, ast.While, ast.IfExp, ast.Assert))
            and isinstance(child.test, ast.Name)
            or isinstance(child, ast.UnaryOp)
            and isinstance(child.op, ast.Not)
            and isinstance(child.operand, ast.Name)
            for child in ast.walk(node)
        )

    def _decorator_param(self, node: ast.FunctionDef, decorator: ast.Call) -> Optional[ast.AST]:
        """The parameter a `@patch(...)` decorator passes its mock in (the innermost decorator
        fills the first parameter); a sentinel node when it cannot be told."""
        patches = [d for d in node.decorator_list if isinstance(d, ast.Call) and self._patcher(d)]
        if any(k.arg == "new" for k in decorator.keywords):
            return None
        index = len(patches) - 1 - patches.index(decorator)
        params = [
            a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")
        ]
        if index >= len(params):
            return ast.Name(id="", ctx=ast.Load())
        return ast.Name(id=params[index], ctx=ast.Load())

    # -- patches

    def _patcher(self, call: ast.Call) -> str:
        name = dotted_text(call.func)
        if name in _PATCHERS:
            return "patch"
        if name.endswith(".object") and name[: -len(".object")] in _PATCHERS:
            return "object"
        if name.endswith(".setattr") or name == "setattr":
            return "setattr"
        return ""

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if isinstance(item.context_expr, ast.Call) and self._patcher(item.context_expr):
                # the mock's name outlives the block: check its uses in the whole function
                self._patch(
                    item.context_expr, bound=item.optional_vars, body=self._function_body(node)
                )
                self._seen.add(id(item.context_expr))
        self.generic_visit(node)

    def _function_body(self, node: ast.AST) -> List[ast.stmt]:
        scope = self.parents.get(id(node))
        while scope is not None and not isinstance(
            scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)
        ):
            scope = self.parents.get(id(scope))
        return list(scope.body) if scope is not None else [node]  # type: ignore[attr-defined]

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) not in self._seen and self._patcher(node):
            self._patch(node, bound=None)
        name = dotted_text(node.func)
        if name.endswith("AsyncClient") and (
            name == "AsyncClient" or name.split(".")[0] == "httpx"
        ):
            self.uses_async_client = True
        self.generic_visit(node)

    def _target(self, call: ast.Call, kind: str) -> Tuple[str, str, str]:
        """(api, module, local) the patch replaces; api "" when it is not about requests."""
        if not call.args:
            return "", "", ""
        first = call.args[0]
        if (
            kind in ("patch", "setattr")
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            parts = first.value.split(".")
            if "requests" in parts:
                index = parts.index("requests")
                return ".".join(parts[index:]), ".".join(parts[:index]), ""
            if len(parts) >= 2:  # maybe `from requests import get` in that module
                return "?", ".".join(parts[:-1]), parts[-1]
            return "", "", ""
        if kind in ("object", "setattr") and len(call.args) >= 2:
            owner = dotted_text(first)
            attribute = call.args[1]
            if (
                owner in self.requests_names
                and isinstance(attribute, ast.Constant)
                and isinstance(attribute.value, str)
            ):
                return f"requests.{attribute.value}", "", ""
        return "", "", ""

    def _patch(
        self, call: ast.Call, bound: Optional[ast.AST], body: Optional[List[ast.stmt]] = None
    ) -> None:
        kind = self._patcher(call)
        api, module, local = self._target(call, kind)
        if not api:
            return
        problem = self._problem(call, kind, api, bound, body)
        self.mocks.append(
            MockSite(call.lineno, call.col_offset, self.test, api, module, problem, local)
        )

    def _problem(
        self,
        call: ast.Call,
        kind: str,
        api: str,
        bound: Optional[ast.AST],
        body: Optional[List[ast.stmt]],
    ) -> str:
        method = api.rpartition(".")[2]
        if api != "?" and (
            api.rpartition(".")[0] not in ("requests", "requests.api") or method not in METHODS
        ):
            return f"it patches `{api}`, which every requests call goes through"
        if kind == "setattr":
            return "monkeypatch.setattr puts a sync function in place of the call"
        positional = 1 if kind == "patch" else 2
        if len(call.args) > positional:
            return "a replacement object (`new`) is given; it would have to be async"
        for keyword in call.keywords:
            if keyword.arg == "return_value":
                problem = self._response_problem(keyword.value)
            elif keyword.arg == "side_effect":
                problem = self._side_effect_problem(keyword.value)
            else:
                problem = f"patch(..., {keyword.arg}=...) has no exact httpx twin here"
            if problem:
                return problem
        if bound is not None:
            if not isinstance(bound, ast.Name) or not bound.id:
                return "the mock is bound in a way asyncfix cannot follow"
            return self._uses_problem(bound.id, body)
        return ""

    def _response_problem(self, value: ast.AST) -> str:
        if isinstance(value, ast.Call) and dotted_text(value.func).rpartition(".")[2] in (
            "Mock",
            "MagicMock",
        ):
            for keyword in value.keywords:
                if (
                    keyword.arg is None
                    or keyword.arg in RENAMED_ATTRIBUTES
                    or keyword.arg.startswith("spec")
                ):
                    return f"the response mock sets `{keyword.arg}`, which httpx.Response names differently"
        return ""

    def _side_effect_problem(self, value: ast.AST) -> str:
        if isinstance(value, (ast.List, ast.Tuple)):
            for element in value.elts:
                problem = (
                    self._side_effect_problem(element) if isinstance(element, ast.Call) else ""
                )
                if problem:
                    return problem
            return ""
        if isinstance(value, ast.Call):
            name = dotted_text(value.func)
            root, _, short = name.rpartition(".")
            if root.split(".")[0] in self.requests_names or name in self.requests_functions:
                if short not in MOCK_EXCEPTIONS or root not in (
                    *self.requests_names,
                    "requests.exceptions",
                ):
                    return f"side_effect raises `{name}`, which has no exact httpx twin"
                if len(value.args) != 1 or value.keywords:
                    return f"`{name}(...)` is not built from one message"
            return ""
        return "side_effect may be a function, which would receive httpx's arguments"

    def _uses_problem(self, name: str, body: Optional[List[ast.stmt]]) -> str:
        for statement in body or ():
            for child in ast.walk(statement):
                if not (
                    isinstance(child, ast.Name)
                    and child.id == name
                    and isinstance(child.ctx, ast.Load)
                ):
                    continue
                parent = self.parents.get(id(child))
                if not (isinstance(parent, ast.Attribute) and parent.attr in _SAFE_MOCK_USES):
                    return f"the mock `{name}` is used for more than its return value (call arguments differ in httpx)"
                grand = self.parents.get(id(parent))
                if (
                    parent.attr == "return_value"
                    and isinstance(grand, ast.Attribute)
                    and grand.attr in RENAMED_ATTRIBUTES
                ):
                    return (
                        f"`{name}.return_value.{grand.attr}` has another name or meaning in httpx"
                    )
                if parent.attr == "side_effect" and isinstance(grand, ast.Assign):
                    problem = self._side_effect_problem(grand.value)
                    if problem:
                        return problem
        return ""


def collect(tree: ast.Module, module: ModuleFacts) -> Optional[RequestsFacts]:
    """The file's requests mocks, the defs whose response uses httpx renames, and whether it uses
    ``httpx.AsyncClient`` itself; None when there is nothing to say."""
    collector = _Collector(module)
    for node in walk(tree):  # astwalk: no ctx/operator nodes, which nothing asks the parent of
        for child in iter_child_nodes(node):
            collector.parents[id(child)] = node
    collector.visit(tree)
    mocks = collector.mocks
    if not (mocks or collector.renaming or collector.uses_async_client):
        return None
    return RequestsFacts(tuple(mocks), frozenset(collector.renaming), collector.uses_async_client)
