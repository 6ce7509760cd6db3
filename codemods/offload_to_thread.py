"""offload_to_thread: a call from a coroutine to sync project code that blocks runs in a thread
(issue 16), or is reported with the chain that blocks.

Why: a coroutine that calls a sync function of its own project, which (through any number of
project calls) reaches a blocking API (``requests``, a sync SQLAlchemy ``Session``,
``subprocess``, file I/O, ...), stalls the event loop for as long as that takes. When the
coroutine cannot simply become a ``def`` (``demote_to_def``: it awaits something else, or it is
no route), the blocking call moves to a worker thread, as maintainers write it by hand::

    async def run(req: Req):                      async def run(req: Req):
        await audit(req)                              await audit(req)
        result = run_sync(req.cmd)         ->         result = await asyncio.to_thread(run_sync, req.cmd)

``asyncio.to_thread`` (Python 3.9+) carries the context variables along. Only a call that is a
whole statement, an assignment's value or a return value is offloaded, never one that makes a
generator or a context manager (``with scope():`` runs the work when the block is entered: moving
only the call would move nothing). Those, and anything else the plan (``codemods/blocking.py``)
cannot fix, are reported as ``BLOCK001`` with the chain from the coroutine to the blocking API.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Set, Union

import libcst as cst
from libcst.metadata import PositionProvider, ScopeProvider

from .base import Codemod, Diagnostic
from .blocking import CODE_BLOCKS, CODE_DIRECT, BlockingPlan
from .emit import block_to_thread, free_name, to_thread
from .gates import OffloadToThreadGate


class OffloadToThread(OffloadToThreadGate, Codemod):
    DESCRIPTION = (
        "calls from coroutines to blocking sync project code -> await asyncio.to_thread(...)"
    )
    CODES: Mapping[str, str] = {
        CODE_BLOCKS: (
            "A coroutine calls sync code of the project that blocks the event loop: the chain in\n"
            "the message leads from the coroutine, through project functions (each with the line\n"
            "where it calls the next), to the blocking API. asyncfix neither made the coroutine a\n"
            "`def` (it awaits, or is no route/dependency, or other code calls it) nor moved the\n"
            "call to a thread (it is a `with` item, makes a generator, or sits inside a larger\n"
            "expression).\n"
            "Fix by hand: move the blocking part into one sync function and call it with\n"
            "`await asyncio.to_thread(f, ...)` (a whole `with` block: the resource is opened, used\n"
            "and closed on one thread), or make the chain async (httpx.AsyncClient, AsyncSession),\n"
            "or declare a false alarm with `# asyncfix: ignore[offload_to_thread]`."
        ),
        CODE_DIRECT: (
            "A coroutine calls a blocking API directly (the knowledge base names it, with why it\n"
            "blocks and what to use instead) and no asyncfix family rewrote or reported that call:\n"
            "a typed sync client parameter, a library asyncfix has no rewrite for (urllib3, boto3,\n"
            "h5py, PIL, pandas I/O, pymongo, sync redis, ...). It is recomputed on the code as\n"
            "written, so `--check` fails until it is fixed or silenced.\n"
            "Fix by hand: the async alternative the hint names, or `await asyncio.to_thread(f, ...)`;\n"
            "or `# asyncfix: ignore[offload_to_thread]` where blocking is acceptable."
        ),
    }

    def visit_Module(self, node: cst.Module) -> None:
        plan: BlockingPlan = self.file.project.blocking
        self.offload = plan.offload.get(self.file.filename, frozenset())
        self.with_blocks = plan.with_blocks.get(self.file.filename, {})
        self._named: Dict[int, Set[str]] = {}  # id(scope) -> names given to moved blocks there
        self.report_unparsed(self.file)

    def _key(self, call: cst.Call):
        func = call.func
        last = (
            func.attr.value
            if isinstance(func, cst.Attribute)
            else func.value if isinstance(func, cst.Name) else None
        )
        if last is None:
            return None
        return self.original_line(self.get_metadata(PositionProvider, call).start.line), last

    def leave_With(
        self, original: cst.With, updated: cst.With
    ) -> Union[cst.BaseStatement, cst.FlattenSentinel]:
        item = original.items[0].item if len(original.items) == 1 else None
        if original.asynchronous is not None or not isinstance(item, cst.Call):
            return updated
        key = self._key(item)
        if key not in self.with_blocks or self.ignored(original):
            return updated
        returns = _Checks.of(original.body)
        exported = self._exported(original) if returns is not None else None
        if returns is None or exported is None or (returns and exported):
            finding = self.with_blocks[key]
            self.file.diagnostics.append(
                Diagnostic(
                    self.file.path,
                    finding.line,
                    finding.column,
                    finding.code,
                    finding.message,
                    finding.hint,
                    self.NAME,
                )
            )
            return updated
        name = self._free_name(original, f"_{key[1].strip('_')}_block")
        self.add_needed_import("asyncio")
        self.rewrote()
        return block_to_thread(updated, name, exported, bool(returns))

    def _inside(self, node: cst.CSTNode, block: cst.CSTNode) -> bool:
        outer = self.get_metadata(PositionProvider, block)
        inner = self.get_metadata(PositionProvider, node, None)
        if inner is None:
            return False
        return (outer.start.line, outer.start.column) <= (
            inner.start.line,
            inner.start.column,
        ) and (inner.end.line, inner.end.column) <= (outer.end.line, outer.end.column)

    def _exported(self, block: cst.With) -> Optional[List[str]]:
        """The names the block must hand back (sorted), or None when it cannot move. Every name
        the block binds must be bound only inside it (in the nested function it becomes, a name
        shared with the code around it would be another variable); one read after the block is
        handed back when a statement directly in the block assigns it."""
        scope = self.get_metadata(ScopeProvider, block.body, None)
        if scope is None:
            return None
        end = self.get_metadata(PositionProvider, block).end
        top_level = _top_level_targets(block.body)
        exported: Set[str] = set()
        for assignment in scope.assignments:
            node = getattr(assignment, "node", None)
            if node is None or not self._inside(node, block):
                continue
            name = assignment.name
            for other in scope.assignments[name]:
                if getattr(other, "node", None) is None or not self._inside(other.node, block):
                    return None
            for access in scope.accesses[name]:
                if self._inside(access.node, block):
                    continue
                where = self.get_metadata(PositionProvider, access.node, None)
                if (
                    name not in top_level
                    or where is None
                    or (where.start.line, where.start.column) < (end.line, end.column)
                ):
                    return None
                exported.add(name)
        return sorted(exported)

    def _free_name(self, node: cst.CSTNode, wanted: str) -> str:
        scope = self.get_metadata(ScopeProvider, node)
        taken = self._named.setdefault(id(scope), set())
        name = free_name(scope, [wanted], taken)
        taken.add(name)
        return name

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        key = self._key(original)
        if key is None or key not in self.offload or self.ignored(original):
            return updated
        self.add_needed_import("asyncio")
        self.rewrote()
        return to_thread(cst.Arg(updated.func), *updated.args)


class _Checks(cst.CSTVisitor):
    """Whether a `with` block can run as a nested sync function: no await, yield, early return,
    break/continue out of it, global/nonlocal. ``of`` returns None when it cannot, else whether
    it ends in its only ``return``."""

    def __init__(self) -> None:
        self.bad = False
        self.returns = 0
        self.loops = 0

    @classmethod
    def of(cls, body: cst.BaseSuite) -> Optional[bool]:
        checks = cls()
        body.visit(checks)
        if checks.bad:
            return None
        statements = list(getattr(body, "body", ()))
        last = statements[-1] if statements else None
        ends_in_return = (
            isinstance(last, cst.SimpleStatementLine)
            and len(last.body) == 1
            and isinstance(last.body[0], cst.Return)
        )
        if checks.returns and not (checks.returns == 1 and ends_in_return):
            return None
        return ends_in_return

    def visit_Await(self, node: cst.Await) -> bool:
        self.bad = True
        return False

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.bad = True
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        self.bad = True
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        self.bad = True
        return False

    def visit_Return(self, node: cst.Return) -> bool:
        self.returns += 1
        return True

    def visit_For(self, node: cst.For) -> bool:
        self.bad |= node.asynchronous is not None
        self.loops += 1
        return True

    def leave_For(self, node: cst.For) -> None:
        self.loops -= 1

    def visit_While(self, node: cst.While) -> bool:
        self.loops += 1
        return True

    def leave_While(self, node: cst.While) -> None:
        self.loops -= 1

    def visit_With(self, node: cst.With) -> bool:
        self.bad |= node.asynchronous is not None
        return True

    def visit_Break(self, node: cst.Break) -> bool:
        self.bad |= not self.loops
        return False

    def visit_Continue(self, node: cst.Continue) -> bool:
        self.bad |= not self.loops
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _top_level_targets(body: cst.BaseSuite) -> Set[str]:
    """Names assigned by `name = ...` statements directly in a block (always run)."""
    names: Set[str] = set()
    for statement in getattr(body, "body", ()):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                names.update(
                    t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                )
            elif (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.target, cst.Name)
                and small.value
            ):
                names.add(small.target.value)
    return names
