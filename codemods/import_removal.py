"""Removing the imports codemods scheduled with ``remove_unused_import``, two ways better than
libcst's own pass: no alias is lost, and no comment is.

libcst keeps pending ``import X`` removals in a dict keyed by module, so ``import time`` in one
function and ``import time as t`` in another would lose one of the two: they are removed in as
many passes as there are aliases of a module. And a removed import's comment lines move to the
next statement instead of vanishing.
"""

from __future__ import annotations

from typing import List, Sequence, Set, Union

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor


def remove_scheduled_imports(context: CodemodContext, tree: cst.Module) -> cst.Module:
    """Remove, from ``tree``, the imports scheduled in ``context`` that nothing uses any more."""
    # The same import is scheduled once per use a codemod replaced (14 `time.sleep` calls: 14
    # times `import time`); one pass per distinct removal, not per request (each pass resolves
    # the module's scopes again).
    removals = list(dict.fromkeys(context.scratch.pop(RemoveImportsVisitor.CONTEXT_KEY, [])))
    batches: List[list] = []
    for removal in removals:
        module, obj, _ = removal
        for batch in batches:
            if obj is not None or all(m != module or o is not None for m, o, _ in batch):
                batch.append(removal)
                break
        else:
            batches.append([removal])
    for batch in batches:
        tree = RemoveImports(context, batch).transform_module(tree)
    return tree


class RemoveImports(RemoveImportsVisitor):
    """libcst's RemoveImportsVisitor, except that it never loses a comment: the comment lines
    above a removed import move to the next statement (or the block's end), and the blank lines
    a removed first statement leaves at the top of a block go with it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._removed: Set[int] = set()

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> Union[cst.SimpleStatementLine, cst.RemovalSentinel]:
        if not updated.body:
            self._removed.add(id(original))
            return cst.RemoveFromParent()
        return updated

    def _rebuild(self, original_body: Sequence[cst.CSTNode], body: Sequence[cst.CSTNode]):
        if not any(id(statement) in self._removed for statement in original_body):
            return list(body), []
        kept = iter(body)
        result: List[cst.CSTNode] = []
        pending: List[cst.EmptyLine] = []
        blank = False  # a removed statement began after a blank line (an import section)
        for statement in original_body:
            if id(statement) in self._removed:
                pending.extend(line for line in statement.leading_lines if line.comment)
                blank = blank or any(line.comment is None for line in statement.leading_lines)
                continue
            new = next(kept)
            lines = list(new.leading_lines)
            if blank and result and not any(line.comment is None for line in lines):
                lines.insert(0, cst.EmptyLine())  # the section keeps its blank line above
            blank = False
            if not result:  # the block now starts here: no blank lines before the first line
                while lines and lines[0].comment is None:
                    lines.pop(0)
            if pending or len(lines) != len(new.leading_lines):
                new = new.with_changes(leading_lines=[*pending, *lines])
                pending = []
            result.append(new)
        return result, pending

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.BaseSuite:
        body, orphans = self._rebuild(original.body, updated.body)
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(body=body, footer=[*orphans, *updated.footer])

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        updated = super().leave_Module(original, updated)
        body, orphans = self._rebuild(original.body, updated.body)
        return updated.with_changes(body=body, footer=[*orphans, *updated.footer])
