"""The rewrite of the test doubles sqla_mocks.py proved exact twins of a converted Session
(``MagicMock`` -> ``AsyncMock``, ``__enter__`` -> ``__aenter__``, the patched name): libcst, mixed
into SqlalchemyToAsync."""

from __future__ import annotations

from typing import FrozenSet, List, Set

import libcst as cst
import libcst.matchers as m


class DoubleRewrites:
    """Mixin of SqlalchemyToAsync: the exact async twin of a converted Session's test double."""

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        updated = super().leave_Module(original, updated)  # type: ignore[misc]
        combined = getattr(self, "_combined", None)
        if combined is None or not combined.converting:
            return updated
        targets = frozenset(
            target for path, target in combined.doubles if path == self.file.filename
        )
        if not targets:
            return updated
        rewritten = updated.visit(_Twin(targets))
        if rewritten.deep_equals(updated):
            return updated
        self.add_needed_import("unittest.mock", "AsyncMock")
        self.rewrote()
        return rewritten


class _Twin(cst.CSTTransformer):
    def __init__(self, targets: FrozenSet[str]) -> None:
        super().__init__()
        self.targets = targets
        self.doubles: List[Set[str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names: Set[str] = set()
        for call in m.findall(node, m.Call()):
            if (
                call.args
                and isinstance(call.args[0].value, cst.SimpleString)
                and call.args[0].value.evaluated_value in self.targets
            ):
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value == "return_value":
                        if isinstance(arg.value, cst.Name):
                            names.add(arg.value.value)
        self.doubles.append(names)

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.doubles.pop()
        return updated

    def leave_SimpleString(
        self, original: cst.SimpleString, updated: cst.SimpleString
    ) -> cst.SimpleString:
        value = original.evaluated_value
        if self.doubles and self.doubles[-1] and value in self.targets:
            module = value.rpartition(".")[0]
            quote = original.value[0]
            return updated.with_changes(value=f"{quote}{module}.AsyncSession{quote}")
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        names = self.doubles[-1] if self.doubles else set()
        if (
            len(updated.targets) == 1
            and isinstance(updated.targets[0].target, cst.Name)
            and updated.targets[0].target.value in names
            and isinstance(updated.value, cst.Call)
        ):
            if isinstance(updated.value.func, cst.Name):
                return updated.with_changes(
                    value=updated.value.with_changes(func=cst.Name("AsyncMock"))
                )
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        names = self.doubles[-1] if self.doubles else set()
        if (
            updated.attr.value == "__enter__"
            and isinstance(updated.value, cst.Name)
            and updated.value.value in names
        ):
            return updated.with_changes(attr=cst.Name("__aenter__"))
        return updated
