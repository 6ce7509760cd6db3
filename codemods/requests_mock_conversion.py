"""The conversion of the tests' mocks of ``requests`` (requests_mocks.py says which and why),
in libcst, at the sites native.py chose: mixed into RequestsToHttpx."""

from __future__ import annotations

from typing import Dict, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider

from .requests_mocks import MOCK_EXCEPTIONS

# -- the conversion (libcst), at the sites native.py chose ----------------------------------------


class MockConversion:
    """Converts the patch calls native.py chose in this file (mixed into RequestsToHttpx)."""

    def _plan_mocks(self, module: cst.Module) -> None:
        self._mock_targets: Dict[int, Tuple[int, cst.BaseExpression]] = {}
        self._mock_funcs: Dict[int, cst.BaseExpression] = {}
        rung = self.file.project.facts.get("native")  # native.FACTS_KEY
        if rung is not None and rung.mocks:
            # A converted mock is right only with the helpers made async, and they only with
            # the mocks converted: written all together or not at all (groups.py).
            helpers = {path for path, _ in rung.seeds}
            if self.file.filename in rung.mocks:
                self.file.needs.update(helpers)
            if self.file.filename in helpers:
                self.file.needs.update(rung.mocks)
        sites = rung.mocks.get(self.file.filename, frozenset()) if rung is not None else frozenset()
        if not sites:
            return
        for call in m.findall(module, m.Call()):
            position = self.get_metadata(PositionProvider, call, None)
            if position is None:
                continue
            if (self.original_line(position.start.line), position.start.column) in sites:
                self._plan_patch(call)

    def _plan_patch(self, call: cst.Call) -> None:
        first = call.args[0].value
        if isinstance(first, cst.SimpleString):  # patch("app.mod.requests.get")
            method = first.evaluated_value.rpartition(".")[2]
            quote = first.prefix + first.quote
            new: cst.BaseExpression = cst.SimpleString(
                f"{quote}httpx.AsyncClient.{method}{first.quote}"
            )
            self._mock_targets[id(call)] = (0, new)
        else:  # patch.object(requests, "get")
            self._mock_targets[id(call)] = (0, cst.parse_expression("httpx.AsyncClient"))
            self.drop_import_if_unused(first)
        self.add_needed_import("httpx")
        self.rewrote()
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "side_effect":
                self._plan_exceptions(arg.value)
        # `mock.side_effect = requests.exceptions.Timeout(...)` where the mock is used
        scope = self._mock_scope(call)
        for assign in m.findall(
            scope, m.Assign(targets=[m.AssignTarget(m.Attribute(attr=m.Name("side_effect")))])
        ):
            self._plan_exceptions(assign.value)

    def _mock_scope(self, call: cst.Call) -> cst.CSTNode:
        node: cst.CSTNode = call
        while True:
            parent = self.get_metadata(ParentNodeProvider, node, None)
            if parent is None or isinstance(parent, (cst.With, cst.FunctionDef)):
                return parent if parent is not None else node
            node = parent

    def _plan_exceptions(self, value: cst.BaseExpression) -> None:
        for raised in m.findall(value, m.Call()):
            name = self.imported_name(raised.func)
            if name is None:
                continue
            root, _, short = name.rpartition(".")
            if root in ("requests", "requests.exceptions") and short in MOCK_EXCEPTIONS:
                self._mock_funcs[id(raised)] = cst.parse_expression(MOCK_EXCEPTIONS[short])
                self.drop_import_if_unused(raised.func)

    def _convert_mock(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = self._mock_funcs.get(id(original))
        if func is not None:
            return updated.with_changes(func=func)
        target = self._mock_targets.get(id(original))
        if target is not None:
            index, value = target
            args = list(updated.args)
            args[index] = args[index].with_changes(value=value)
            return updated.with_changes(args=args)
        return updated
