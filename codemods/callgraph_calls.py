"""The call sites and references of the first pass's one walk (callgraph.py's collector is
made of this and the definitions, imports and contexts there): every call with its context and
receiver, every reference to a name, and what coroutines use."""

from __future__ import annotations

import ast

from .astwalk import FastVisitor, dotted_text
from .program_facts import (
    ASYNC_AWARE_SLOTS,
    GENEXP,
    HANDED,
    HANDS_OFF,
    NESTED,
    PLAIN,
    STORED,
    TAKES_AWAITABLES,
    CallSite,
)

# Calls that replace a name for a test (ModuleFacts.mocked).
_MOCKERS = frozenset({"patch", "setattr", "object"})


class CallSites(FastVisitor):
    """Mixin of callgraph._Collector: calls, references, names used in coroutines (the state
    they read and write is the collector's, set in its ``__init__``)."""

    def _in_coroutine(self) -> bool:
        frame = self.frames[-1]
        return frame.kind == "def" and frame.is_async

    def visit_Call(self, node: ast.Call) -> None:
        name = dotted_text(node.func)
        if self._in_coroutine():
            if name:
                self.async_names.update(name.split("."))
                self.async_chains.add(name)
            elif isinstance(node.func, ast.Attribute):  # Path(p).read_text()
                self.async_names.add(node.func.attr)
        last = name.rpartition(".")[2] if name else ""
        if not last and isinstance(node.func, ast.Attribute):
            last = node.func.attr
        if last in TAKES_AWAITABLES:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self.mark(argument, HANDED)
                self.handled_name(argument)
        for argument in (
            [*node.args, *(k.value for k in node.keywords)] if last in HANDS_OFF else ()
        ):
            if isinstance(argument, ast.Starred):
                argument = argument.value
            if isinstance(argument, ast.Name):  # `coros.append(c)`: c may be awaited elsewhere
                self.facts.passed.setdefault(self.owner(), set()).add(argument.id)
        if last in ASYNC_AWARE_SLOTS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self.slot_args.add(id(argument))
        if last in _MOCKERS and node.args:
            target = node.args[0]
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                self.mocked.add(target.value)
            elif dotted_text(target):
                self.mocked.add(dotted_text(target))
        self._record_call(node, name)
        # The callee expression itself is not a reference to a function value.
        if isinstance(node.func, ast.Attribute):
            if not name:
                self.visit(node.func.value)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        for argument in node.args:
            self.visit(argument)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def _record_call(self, node: ast.Call, target: str) -> None:
        """``target``: the dotted text of ``node.func`` (visit_Call has it; each node's text is
        read once: the one walk's most frequent call)."""
        func = node.func
        instance_of = ""
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if isinstance(receiver, ast.Call):  # Service().method()
                instance_of = dotted_text(receiver.func)
                target = f"().{func.attr}"
            elif isinstance(receiver, ast.Name) and receiver.id in self.frame.instances:
                instance_of = self.frame.instances[receiver.id]
            elif (
                isinstance(receiver, ast.Attribute)
                and isinstance(receiver.value, ast.Name)
                and receiver.value.id == "self"
            ):  # self.repo.get(): the type __init__ gave self.repo (resolved in build)
                instance_of = f"self.{receiver.attr}"
                target = f"().{func.attr}"
        if not target:
            return
        context, stored = self.context.get(id(node), (PLAIN, ""))
        if context in (PLAIN, STORED) and self.in_genexp:
            context = GENEXP
        elif context in (PLAIN, STORED) and self.comprehension_depth > 1:
            context = NESTED
        root = target.split(".")[0]
        frame = self.frame
        if frame.kind == "def" and root not in ("self", "cls") and not instance_of:
            # a local variable of that name is not the module-level function: known at its end
            frame.deferred.append((len(self.facts.calls), root))
        self.facts.calls.append(
            CallSite(
                owner=self.owner(),
                line=node.lineno,
                target=target,
                instance_of=instance_of,
                span=self.columns.span(func),
                context=context,
                stored_as=stored,
                main_guard=bool(self.main_guard),
                statement=id(node) in self.statement_calls,
                with_item=id(node) in self.with_items,
                end_line=node.end_lineno or node.lineno,
            )
        )

    def _reference(self, node: ast.AST, target: str) -> None:
        """``target``: the dotted text of ``node``, not empty."""
        instance_of = ""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            instance_of = self.frame.instances.get(node.value.id, "")
        self.raw_references.append(  # made Reference objects, if kept, in collect_module
            (
                target,
                instance_of,
                self.owner(),
                node.lineno,
                node.col_offset,
                id(node) in self.slot_args,
            )
        )

    def visit_Name(self, node: ast.Name) -> None:
        if self._in_coroutine():
            self.async_names.add(node.id)
            self.async_chains.add(node.id)
        if isinstance(node.ctx, ast.Load):
            self._reference(node, node.id)
        elif isinstance(node.ctx, ast.Store):
            frame = self.body_frame()
            if frame is not None:
                frame.stores.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = dotted_text(node)
        if self._in_coroutine():
            self.async_names.update(dotted.split(".") if dotted else (node.attr,))
            if dotted:
                self.async_chains.add(dotted)
        if isinstance(node.ctx, ast.Load) and dotted:
            self._reference(node, dotted)  # the whole chain is one reference
        else:
            self.visit(node.value)
