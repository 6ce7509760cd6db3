"""Files written all together or not at all (principle 1: a change to a shared object is
applied with every use of it, or not at all).

A rewrite can be correct only with another file's: a user module imports ``http_client`` from
the module that hosts the app's client (requests_hosts.py), or ``process_pool`` (cpu_hosts.py),
or the async engine from the module that makes it (sqlalchemy_to_async); a function made
``async def`` in one module is awaited in another (propagate.py). Written alone, either half
breaks the app (an ImportError, a coroutine never awaited, ``await`` on a plain value).

The rewrite records these ties as it plans them, on its :class:`~.results.FileResult`:
``needs`` (the index's plan: the other files of an await it adds or a def it makes async,
``FileActions.linked``) and ``imported`` (the modules its codemods imported from). :func:`plan`
resolves the imports to the run's files with resolve.py's rules (names.ModuleFinder), joins
the changed and failed files they tie into connected groups, and fails a whole group when one
member failed, so ``--dry-run``/``--check`` show the outcome ``--apply`` would have. The
writer (writer.write_group) writes a group's members one after the other and, when a write
fails, puts back the members already written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, FrozenSet, List, Optional, Set

from .names import ModuleFinder
from .results import CHANGED, FAILED, FileResult
from .sqla_facts import CLOSURE_TIE


def _resolved(result: FileResult, finder: ModuleFinder) -> Set[str]:
    """The run's files ``result``'s rewrite imported from, by resolve.py's import rules."""
    found: Set[str] = set()
    for module, level in result.imported:
        name = finder.absolute(result.path, level, module) if level else module
        target = finder.module(name, result.path) if name else None
        if target is not None and target != result.path:
            found.add(target)
    return found


def ties_of_failed(path: str, project: Any) -> FrozenSet[str]:
    """The shared objects the rewrite of ``path`` would have tied it to, for a file whose rewrite
    failed before its codemods could record them (a codemod raising): the SQLAlchemy conversion
    when the plan converts and the file takes part in it, so its failure stops every file of the
    conversion, not only those its awaits or imports reach."""
    combined = project.get("sqlalchemy_to_async") if project is not None else None
    if getattr(combined, "converting", False) and path in combined.files:
        return frozenset({CLOSURE_TIE})
    return frozenset()


class _Union:
    def __init__(self) -> None:
        self.parent: Dict[str, str] = {}

    def find(self, path: str) -> str:
        root = self.parent.setdefault(path, path)
        while root != self.parent[root]:
            root = self.parent[root]
        while path != root:  # path compression
            self.parent[path], path = root, self.parent[path]
        return root

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def plan(results: List[FileResult], root: str) -> List[FileResult]:
    """``results`` (in their order) with each file's ``needs`` resolved, each member of a group
    of two or more marked with ``group``, and every changed member of a group with a failed
    member failed in turn (nothing of the group is written, shown or counted as rewritten)."""
    by_path = {result.path: result for result in results}
    finder: Optional[ModuleFinder] = None
    union = _Union()
    needs: Dict[str, frozenset] = {}
    for result in results:
        if result.status not in (CHANGED, FAILED):
            continue
        tied = set(result.needs)
        if result.imported:
            finder = finder or ModuleFinder(by_path, root)
            tied |= _resolved(result, finder)
        needs[result.path] = frozenset(tied)
        for other in tied:
            shared = other.startswith("<")  # a shared object (``<name>``), not a file
            if shared or other in by_path and by_path[other].status in (CHANGED, FAILED):
                union.join(result.path, other)
    members: Dict[str, List[str]] = {}
    for path in needs:
        members.setdefault(union.find(path), []).append(path)
    out: List[FileResult] = []
    for result in results:
        if result.path not in needs:
            out.append(result)
            continue
        group = sorted(members[union.find(result.path)])
        marked = replace(
            result,
            needs=needs[result.path],
            group=tuple(group) if len(group) > 1 else (),
        )
        failed = [by_path[path] for path in group if by_path[path].status == FAILED]
        if failed and marked.status == CHANGED:
            marked = failed_with(marked, failed[0], "not rewritten")
        out.append(marked)
    return out


def failed_with(result: FileResult, culprit: FileResult, what: str) -> FileResult:
    """``result`` FAILED because ``culprit``, a member of its group, failed: ``what`` happened
    to it ("not rewritten", "cannot write"), and why, in the words of the culprit's error."""
    return replace(
        result,
        status=FAILED,
        error=f"{what}: goes with {culprit.display}, which failed ({culprit.error})",
        culprit=culprit.display,
        diff="",
        old_text=None,
        new_text=None,
        new=None,
        rewrites={},
        requirements={},
    )
