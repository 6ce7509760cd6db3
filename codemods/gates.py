"""Each codemod's first pass (first_pass.FirstPass): what it needs in a file's bytes, what it
collects from the file's ``ast``, what it decides over the whole program, and whether a file
reaches libcst for it (the codemods with facts of their own: fact_gates.py). Nothing here imports libcst (tests/test_imports.py): the codemod
(``codemods/<NAME>.py``, its libcst transformer) inherits its class from here, and the engine
runs the first pass and the gates with :data:`GATES` alone.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, Optional, Set, Tuple

from . import native
from .blocking import DEMOTE_CODEMOD, OFFLOAD_CODEMOD, BlockingPlan, plan_once
from .diagnostic import Diagnostic
from .fact_gates import (
    CpuToExecutorGate,
    DependencyCloseGate,
    RequestsToHttpxGate,
    SqlalchemyToAsyncGate,
)
from .first_pass import FileContext, FirstPass
from .gate_tables import (
    LAZY_PATH_METHODS,
    OPENERS,
    OS_PATH_FUNCTIONS,
    PATH_METHODS,
    PURE_OS_PATH_FLAGGED,
    REPORTED_CREATE,
    REPORTED_RUN,
    RUNS,
    WAITS,
)
from .program_facts import Program, ProjectIndex, qualified
from .propagate import build


def _report(file: FileContext, findings: Iterable[Any], name: str) -> None:
    """The index's findings for this file as diagnostics of codemod ``name``, except those an
    opt-out comment on their line silences."""
    for finding in findings:
        names = file.ignores.get(finding.line, frozenset())
        if names is None or name in names:
            continue
        file.diagnostics.append(
            Diagnostic(
                file.path,
                finding.line,
                finding.column,
                finding.code,
                finding.message,
                finding.hint,
                name,
            )
        )


class AwaitCoroutinesGate(FirstPass):
    NAME = "await_coroutines"
    NEEDS = (b"def",)
    LOCAL = True
    ASYNC_ONLY = False

    @classmethod
    def analyse(cls, program: Program) -> None:
        """Async propagation over the whole program (propagate.build), from the functions the
        codemods make await and, first rung of the fix ladder, the blocking helpers a family
        converts natively whose closure is complete (native.py)."""
        program.refused.clear()
        rung = native.plan(
            program.modules, program.resolver, program.selected, program.options, program.facts
        )
        actions = build(
            program.modules,
            [*program.seeds, *rung.seeds],
            program.root,
            program.resolver,
            rung.runs,
            async_fixtures=bool(program.options.get("migrate")),
            entries=program.entries,
            refused=program.refused,
            codemod=cls.NAME,
        )
        program.actions = native.with_findings(actions, rung.findings)
        program.facts[native.FACTS_KEY] = rung  # the tests' mocks requests_to_httpx converts

    @classmethod
    def reduction_tokens(cls, path: str, project: Optional[ProjectIndex]) -> Set[str]:
        """No text: what it changes is found by position (:meth:`reduction_lines`); its NEEDS
        token, ``def``, would keep every def of a big file."""
        return set()

    @classmethod
    def reduction_lines(cls, path: str, project: ProjectIndex) -> Set[int]:
        """The calls to await or run and the defs made async (found by position, not text)."""
        actions = project.actions.get(path)
        if actions is None:
            return set()
        lines = {span[0] for span in actions.await_spans | actions.run_spans}
        return lines | {line for line, _ in actions.make_async}

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        """Only a file with something to rewrite: findings alone need no libcst."""
        actions = project.actions.get(path) if project is not None else None
        return actions is not None and bool(
            actions.await_spans or actions.run_spans or actions.make_async
        )

    @classmethod
    def reports_unparsed(cls, path: str, project: ProjectIndex) -> bool:
        actions = project.actions.get(path)
        return actions is not None and bool(actions.findings)

    @classmethod
    def report_unparsed(cls, file: FileContext) -> None:
        cls._report(file)

    @classmethod
    def _report(cls, file: FileContext) -> None:
        actions = file.project.actions.get(file.filename)
        _report(file, actions.findings if actions is not None else (), cls.NAME)


class SleepToAsyncioGate(FirstPass):
    NAME = "sleep_to_asyncio"
    NEEDS = (b"sleep",)
    LOCAL = True
    ASYNC_TARGETS = frozenset({"time.sleep"})


class FileIoToThreadGate(FirstPass):
    NAME = "file_io_to_thread"
    NEEDS = (b"open", b"path", b"Path")
    LOCAL = True
    # open()/io.open/codecs.open and the os.path functions, any import style; Path methods by
    # name, and those only where the file imports pathlib (see wants()).
    ASYNC_TARGETS = OPENERS | {"open"} | OS_PATH_FUNCTIONS | PURE_OS_PATH_FLAGGED
    ASYNC_NAMES = PATH_METHODS | LAZY_PATH_METHODS

    @classmethod
    def in_coroutines(cls, names: FrozenSet[str], source: bytes) -> bool:
        if any(qualified(target) in names for target in cls.ASYNC_TARGETS):
            return True
        # A receiver is known to be a Path only through an import from pathlib.
        return b"pathlib" in source and not cls.ASYNC_NAMES.isdisjoint(names)


class SubprocessToAsyncioGate(FirstPass):
    NAME = "subprocess_to_asyncio"
    NEEDS = (b"subprocess", b"system", b"spawn", b"popen")
    ASYNC_TARGETS = frozenset(
        {"subprocess", *RUNS, *REPORTED_CREATE, *REPORTED_RUN}
        | {f"os.spawn{kind}{p}{e}" for kind in "lv" for p in ("", "p") for e in ("", "e")}
    )  # any import style


class BlockingToExecutorGate(FirstPass):
    NAME = "blocking_to_executor"
    NEEDS = (b"input", b"wait")
    LOCAL = True
    ASYNC_TARGETS = frozenset({"input"}) | WAITS  # the builtin or any import style


class DemoteToDefGate(FirstPass):
    NAME = DEMOTE_CODEMOD
    NEEDS = (b"async",)
    ASYNC_ONLY = True

    @classmethod
    def analyse(cls, program: Program) -> None:
        plan_once(program)  # one plan, shared with the other codemod that applies it

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        plan: Optional[BlockingPlan] = project.blocking if project is not None else None
        return plan is not None and bool(plan.demote.get(path))


class OffloadToThreadGate(FirstPass):
    NAME = OFFLOAD_CODEMOD
    NEEDS = (b"async",)
    ASYNC_ONLY = True

    @classmethod
    def analyse(cls, program: Program) -> None:
        plan_once(program)  # one plan, shared with the other codemod that applies it

    @classmethod
    def reports_unparsed(cls, path: str, project: ProjectIndex) -> bool:
        plan: Optional[BlockingPlan] = project.blocking
        return plan is not None and bool(plan.findings.get(path))

    @classmethod
    def report_unparsed(cls, file: FileContext) -> None:
        plan: BlockingPlan = file.project.blocking
        _report(file, plan.findings.get(file.filename, ()), cls.NAME)

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        plan: Optional[BlockingPlan] = project.blocking if project is not None else None
        return plan is not None and bool(plan.offload.get(path) or plan.with_blocks.get(path))


# In registry order (registry.py; tests/test_imports.py checks both agree): the engine runs
# the first pass, the index and the gates with these, and imports a codemod (and libcst) only
# for a file one of them wants.
GATES: Tuple[type, ...] = (
    AwaitCoroutinesGate,
    DependencyCloseGate,
    SqlalchemyToAsyncGate,
    SleepToAsyncioGate,
    RequestsToHttpxGate,
    FileIoToThreadGate,
    SubprocessToAsyncioGate,
    BlockingToExecutorGate,
    CpuToExecutorGate,
    DemoteToDefGate,
    OffloadToThreadGate,
)
GATE_BY_NAME: Dict[str, type] = {gate.NAME: gate for gate in GATES}
