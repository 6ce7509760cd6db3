"""What a call in a coroutine refers to, for cpu_to_executor: the callee's qualified name, the
facts proving it CPU-bound (the library table, the project's combined facts, the option), and
so which executor it goes to; whether the call site takes a process pool (plain picklable
arguments, names free) is cpu_sites.py's verdict, the one statement of it. A mixin of
:class:`~.cpu_to_executor.CpuToExecutor` (its per-file state: ``facts``, ``configured``,
``executor_mode``, ``pool_name``, ``helper_blocked``).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import libcst as cst
from libcst.metadata import GlobalScope, PositionProvider, ScopeProvider

from . import syntax
from .callgraph import collect_module
from .cpu_facts import KNOWN_HEAVY, KNOWN_HEAVY_METHODS, PROCESS, THREAD, Callee
from .cpu_sites import NOT_PLAIN, TAKES_POOL, site_verdicts
from .emit import executor_for
from .program_facts import Span
from .resolve import resolve_relative


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

    def _site(self, func: cst.BaseExpression) -> Optional[str]:
        """cpu_sites' verdict on the call of ``func`` (the one statement of the site's side:
        plain arguments, names free), read from the text this tree prints, so its positions
        are the tree's even after an earlier codemod changed it; None for a call it leaves
        out (never the process pool)."""
        if self.site_verdicts is None:
            source = self.module.bytes
            try:
                tree = syntax.parse(source)
            except (SyntaxError, ValueError):
                self.site_verdicts = {}
            else:
                module = collect_module(tree, self.file.filename, source)
                self.site_verdicts = site_verdicts(tree, source, module)
        pos = self.get_metadata(PositionProvider, func)
        return self.site_verdicts.get(
            (pos.start.line, pos.start.column, pos.end.line, pos.end.column)
        )

    site_verdicts: Optional[Dict[Span, str]] = None  # cpu_sites.site_verdicts of this tree

    def _executor(self, call: cst.Call, callee: Callee) -> Tuple[str, str]:
        """(PROCESS | THREAD, why a wanted process pool was not used or "")."""
        holds_gil = callee.holds_gil or self.executor_mode == PROCESS
        if self.executor_mode == THREAD or not holds_gil:
            return THREAD, ""
        why = ""
        if not callee.process_safe:
            why = "the function is not module-level, is decorated, or uses shared state"
        elif self._site(call.func) != TAKES_POOL:
            why = self._site(call.func) or NOT_PLAIN  # NOT_PLAIN, NAME_TAKEN or left out
        elif self.helper_blocked:
            why = f"the name `{self.pool_name}` is taken in this module"
        return executor_for(holds_gil, picklable=not why), why
