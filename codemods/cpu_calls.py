"""What a call in a coroutine refers to, for cpu_to_executor: the callee's qualified name, the
facts proving it CPU-bound (the library table, the project's combined facts, the option), whether
its arguments are plain picklable data, and so which executor it goes to. A mixin of
:class:`~.cpu_to_executor.CpuToExecutor` (its per-file state: ``facts``, ``configured``,
``executor_mode``, ``pool_name``, ``helper_blocked``).
"""

from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import BuiltinAssignment, FunctionScope, GlobalScope, ScopeProvider

from .cpu_facts import (
    KNOWN_HEAVY,
    KNOWN_HEAVY_METHODS,
    PLAIN_RESULTS,
    PLAIN_TYPES,
    PROCESS,
    THREAD,
    Callee,
)
from .emit import executor_for
from .resolve import resolve_relative


def plain_annotation(node: Optional[cst.Annotation]) -> bool:
    """``int``, ``list[str]``, ``Optional[bytes]``, ``Annotated[int, Query()]``, ``str | None``."""
    if node is None:
        return False

    def plain(expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Name):
            return expr.value in PLAIN_TYPES
        if isinstance(expr, cst.Attribute):  # typing.List
            return expr.attr.value in PLAIN_TYPES
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return plain(expr.left) and plain(expr.right)
        if isinstance(expr, cst.Subscript):
            base = expr.value
            base_name = (
                base.value
                if isinstance(base, cst.Name)
                else (base.attr.value if isinstance(base, cst.Attribute) else "")
            )
            elements = [e.slice.value for e in expr.slice if isinstance(e.slice, cst.Index)]
            if base_name == "Annotated":
                return bool(elements) and plain(elements[0])
            return plain(base) and all(plain(e) or isinstance(e, cst.Ellipsis) for e in elements)
        return isinstance(expr, cst.Name) and expr.value == "None"

    return plain(node.annotation)


class CpuCalls:
    """The callee of a call and the executor it goes to (see the module docstring)."""

    def _qualified(self, func: cst.BaseExpression) -> Tuple[Optional[str], Optional[str]]:
        """(qualified name, module-level local name) of a called expression."""
        name = self.imported_name(func)
        if name is not None:
            if name.startswith("."):
                name = resolve_relative(name, self.file.filename, self.file.project.root)
            return name, None
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return None, None
        scope = self.get_metadata(ScopeProvider, root, None)
        if scope is None:
            return None, None
        assignments = list(scope[root.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return None, None
        bound = assignments[0].node
        if isinstance(bound, cst.FunctionDef) and func is root:
            local = root.value
        elif isinstance(bound, cst.Name) and isinstance(func, cst.Attribute) and func.value is root:
            local = f"{root.value}.{func.attr.value}"
        else:
            return None, None
        own = f"{self.own_names[0]}.{local}" if self.own_names else None
        return own, local

    def _callee(self, func: cst.BaseExpression) -> Optional[Tuple[Callee, str]]:
        """Facts for a CPU-bound callee, and how it was recognised."""
        name, local = self._qualified(func)
        if name is None and local is None:
            return None
        facts = self.facts
        if name in KNOWN_HEAVY:
            return Callee(True, not KNOWN_HEAVY[name], True), "table"
        owner, _, method = (local or name or "").rpartition(".")
        if facts is not None and owner:
            made = None
            if local is not None:
                made = facts.local_instances.get(self.file.filename, {}).get(owner)
            elif name is not None:
                made = facts.instances.get(name.rpartition(".")[0])
            if made is not None and (made, method) in KNOWN_HEAVY_METHODS:
                return Callee(True, not KNOWN_HEAVY_METHODS[(made, method)], False), "table"
        known: Optional[Callee] = None
        if facts is not None:
            if local is not None and "." not in local:
                known = facts.local.get(self.file.filename, {}).get(local)
            elif name is not None:
                known = facts.functions.get(name)
        configured = (name is not None and name in self.configured) or (
            local is not None
            and any(f"{module}.{local}" in self.configured for module in self.own_names)
        )
        if configured:
            if known is not None:
                return known._replace(heavy=True), "option"
            # A library function named in the option: whether it holds the GIL is unknown, so
            # the thread pool unless `cpu-executor = "process"` (it is a module attribute:
            # picklable by reference).
            return Callee(True, False, local is None and name is not None), "option"
        if known is not None and (known.heavy or known.evidence):
            return known, "project"  # not heavy: only looks it (CPU004)
        return None

    def _plain_value(self, expr: cst.BaseExpression, where: cst.FunctionDef) -> bool:
        """True when ``expr`` certainly evaluates to plain, picklable data."""
        if isinstance(
            expr,
            (
                cst.Integer,
                cst.Float,
                cst.Imaginary,
                cst.SimpleString,
                cst.ConcatenatedString,
                cst.FormattedString,
            ),
        ):
            return True
        if isinstance(expr, cst.Name):
            if expr.value in ("None", "True", "False"):
                return True
            scope = self.get_metadata(ScopeProvider, expr, None)
            if not isinstance(scope, FunctionScope) or scope.node is not where:
                return False
            params = where.params
            for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
                if param.name.value == expr.value:
                    assignments = list(scope[expr.value])
                    return len(assignments) == 1 and plain_annotation(param.annotation)
            return False
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return all(
                isinstance(e, cst.Element) and self._plain_value(e.value, where)
                for e in expr.elements
            )
        if isinstance(expr, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and self._plain_value(e.key, where)
                and self._plain_value(e.value, where)
                for e in expr.elements
            )
        if isinstance(expr, cst.UnaryOperation):
            return self._plain_value(expr.expression, where)
        if isinstance(expr, cst.BinaryOperation):
            return self._plain_value(expr.left, where) and self._plain_value(expr.right, where)
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Name) and expr.func.value in PLAIN_RESULTS:
                # the builtin itself (libcst's scopes list builtins as assignments too)
                scope = self.get_metadata(ScopeProvider, expr.func, None)
                return scope is not None and all(
                    isinstance(a, BuiltinAssignment) for a in scope[expr.func.value]
                )
            if m.matches(
                expr.func,
                m.Attribute(
                    attr=m.Name("encode") | m.Name("lower") | m.Name("upper") | m.Name("strip")
                ),
            ):
                return self._plain_value(expr.func.value, where) and all(
                    self._plain_value(a.value, where) for a in expr.args if not a.star
                )
        return False

    def _executor(self, call: cst.Call, callee: Callee, where: cst.FunctionDef) -> Tuple[str, str]:
        """(PROCESS | THREAD, why a wanted process pool was not used or "")."""
        holds_gil = callee.holds_gil or self.executor_mode == PROCESS
        if self.executor_mode == THREAD or not holds_gil:
            return THREAD, ""
        why = ""
        if not callee.process_safe:
            why = "the function is not module-level, is decorated, or uses shared state"
        elif any(not self._plain_value(arg.value, where) for arg in call.args):
            why = "an argument is not known to be picklable"
        elif self.helper_blocked:
            why = f"the name `{self.pool_name}` is taken in this module"
        return executor_for(holds_gil, picklable=not why), why
