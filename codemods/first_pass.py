"""What a codemod is in the first pass: the declarations and class-level steps the engine runs
before any file reaches libcst (the scan's ``collect``, the index's ``combine`` and ``analyse``,
the rewrite's ``wants`` gate), and the per-file state the codemods share. Nothing here imports
libcst: a run whose files need no rewrite never imports it (tests/test_imports.py). Each
codemod's own first pass is a :class:`FirstPass` subclass (gates.py); its libcst transformer
(``Codemod``, base.py) inherits it.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from typing import (
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
)

from .callgraph import IGNORE_COMMENT
from .diagnostic import Diagnostic
from .program_facts import ModuleFacts, Program, ProjectIndex, qualified

# For a line: None means every codemod is ignored there, a set names the ignored codemods.

IgnoreMap = Mapping[int, Optional[FrozenSet[str]]]


def parse_ignore_comments(text: str) -> Dict[int, Optional[FrozenSet[str]]]:
    """Map 1-based line numbers to the codemods an opt-out comment on that line silences."""
    ignores: Dict[int, Optional[FrozenSet[str]]] = {}
    if "asyncfix" not in text:
        return ignores
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = IGNORE_COMMENT.search(line)
        if match is None:
            continue
        names = match.group(1)
        if names is None:
            ignores[lineno] = None
        else:
            ignores[lineno] = frozenset(n.strip() for n in names.split(",") if n.strip())
    return ignores


@dataclass
class FileContext:
    """Per-file state shared by the codemods that run on one file, and what they produced."""

    path: str  # as the user sees it: diagnostics and diffs use it
    filename: str  # the real file: module names, relative imports
    source: str
    project: ProjectIndex
    # [tool.asyncfix] keys a codemod declared in OPTIONS (see config.py), snake_case
    options: Mapping[str, Any] = field(default_factory=dict)
    ignores: IgnoreMap = field(default_factory=dict)
    diagnostics: List[Diagnostic] = field(default_factory=list)
    rewrites: Counter = field(default_factory=Counter)
    # True once an earlier codemod changed the tree: line numbers of the tree a codemod sees
    # then differ from the file's, and are mapped back (opt-out comments, diagnostics).
    shifted: bool = False
    # Packages the rewritten code needs at runtime (pip names) -> the codemods that need them.
    requirements: Dict[str, Set[str]] = field(default_factory=dict)
    # The modules the codemods imported from, (module, relative level): one of the project
    # ties this file's rewrite to that module's (a shared client's host; engine: write groups).
    imported: Set[Tuple[str, int]] = field(default_factory=set)
    # Files, or ``<name>`` of an object the program shares, this rewrite goes with (groups.py)
    needs: Set[str] = field(default_factory=set)


class FirstPass:
    """A codemod as the first pass sees it: what it needs in a file's bytes, what it collects
    from a file's ``ast``, what it decides over the whole program."""

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    NEEDS: ClassVar[Tuple[bytes, ...]] = ()
    # Rewrites only code that runs in a coroutine: a file without `async` cannot need it.
    ASYNC_ONLY: ClassVar[bool] = True
    # With ASYNC_ONLY: identifiers one of which must occur in a coroutine body of the file (a
    # name, an attribute name, or the module/name an imported name comes from), as the first
    # pass recorded them (ProjectIndex.async_names). Empty: only the byte check applies.
    ASYNC_NAMES: ClassVar[FrozenSet[str]] = frozenset()
    # With ASYNC_ONLY, the precise form: qualified names (``time.sleep``, or ``requests`` for
    # anything under it) one of which a coroutine body of the file must use, its import
    # resolved as libcst's QualifiedNameProvider would (``from time import sleep as nap``).
    # A file qualifies when it matches ASYNC_NAMES or ASYNC_TARGETS.
    ASYNC_TARGETS: ClassVar[FrozenSet[str]] = frozenset()
    # True when every rewrite and diagnostic inside a top-level def/class depends only on that
    # statement and the module's other statements that are not defs/classes, and code is added
    # only there or among those statements (imports, module-level helpers that are not defs).
    # The engine then gives libcst only the relevant defs of a big file (reduce._Reduction).
    LOCAL: ClassVar[bool] = False
    # Every diagnostic code this codemod reports -> what it means and how to fix it by hand
    # (``asyncfix --explain CODE``). Reuse a ruff/flake8-async code where one covers the call.
    CODES: ClassVar[Mapping[str, str]] = {}
    # Packages (pip names) the code this codemod writes imports at runtime, e.g. ("httpx",):
    # recorded for a file as soon as the codemod rewrites something there, and listed in the
    # migration report. A need that depends on the rewrite (asyncpg or aiosqlite, by database
    # URL) is recorded with :meth:`Codemod.require` instead.
    REQUIRES: ClassVar[Tuple[str, ...]] = ()

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes, module: ModuleFacts) -> Any:
        """Per-file facts for the project index, from the file's ``ast`` (already parsed by the
        engine's first pass, in a worker) and its program facts (``module``: imports, defs,
        calls; read names there, never from the imports again). Must be picklable; None means
        nothing to say."""
        return None

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        """All files' facts (``{path: facts}``, sorted by path) into one picklable value,
        stored in ``ProjectIndex.facts[NAME]``."""
        return None

    @classmethod
    def combine_with_options(
        cls, facts: Mapping[str, Any], root: str, options: Mapping[str, Any]
    ) -> Any:
        """:meth:`combine`, for a codemod whose project-wide decision depends on the run's options
        (``[tool.asyncfix]``, ``--migrate``); by default they do not matter."""
        return cls.combine(facts, root)

    @classmethod
    def async_seeds(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        """Sync functions this codemod will make await, as (path, qualified name): the await
        machinery makes them ``async def`` and propagates to their callers across the project.
        Code in them counts as async for every codemod (:meth:`coroutine_of`)."""
        return ()

    @classmethod
    def async_entries(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        """Decorated functions this codemod keeps sync for their framework while their body
        becomes async (a CLI command split into ``asyncio.run(_body())``): their decorators are
        no boundary, and their callers call them synchronously. As (path, qualified name)."""
        return ()

    @classmethod
    def analyse(cls, program: Program) -> None:
        """The whole-program step, after every codemod's :meth:`combine`, in registry order:
        read the program (``program.modules``, ``program.resolver``, every codemod's combined
        ``program.facts``) and record there what this codemod decides for the rewrite pass
        (``program.actions``: functions made async and calls awaited; ``program.blocking``;
        ``program.facts``). Codemods after it in the registry see it; one that changes
        ``program.seeds`` or ``program.entries`` makes those before it run again (a fixed
        point). Default: nothing."""

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        """The cheap per-file check: can this file possibly need this codemod? Override to
        also ask the project index (a file the index names is wanted whatever its bytes)."""
        if cls.ASYNC_ONLY and b"async" not in source:
            return False
        if not any(token in source for token in cls.NEEDS):
            return False
        if (cls.ASYNC_NAMES or cls.ASYNC_TARGETS) and project is not None:
            names = project.coroutine_names(path)
            if names is not None:
                return cls.in_coroutines(names, source)
        return True

    @classmethod
    def in_coroutines(cls, names: FrozenSet[str], source: bytes) -> bool:
        """Whether the first pass saw, in the file's coroutines (``names``), what this codemod
        acts on."""
        if not cls.ASYNC_NAMES.isdisjoint(names):
            return True
        return any(qualified(target) in names for target in cls.ASYNC_TARGETS)

    @classmethod
    def reduction_tokens(cls, path: str, project: Optional[ProjectIndex]) -> Set[str]:
        """For a LOCAL codemod: text one of which a top-level def/class must contain for this
        codemod to act in it (reduce._Reduction keeps those, and the ones the await
        machinery changes). Default: the NEEDS tokens."""
        return {token.decode("latin-1") for token in cls.NEEDS}

    @classmethod
    def reduction_lines(cls, path: str, project: ProjectIndex) -> Set[int]:
        """For a LOCAL codemod: lines of file ``path`` it changes whatever their text (the
        reduction keeps the top-level defs/classes holding them). Default: none."""
        return set()

    @classmethod
    def reports_unparsed(cls, path: str, project: ProjectIndex) -> bool:
        """Whether, for a file it does not want, this codemod still has diagnostics to give
        from the project index alone (then :meth:`report_unparsed` gives them)."""
        return False

    @classmethod
    def report_unparsed(cls, file: "FileContext") -> None:
        """Add those diagnostics to ``file`` (its ``ignores`` are set), without libcst."""
