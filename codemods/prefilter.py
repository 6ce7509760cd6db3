"""The demand-driven first pass: collect facts only from the files that can matter.

Every file is still read and ``ast``-parsed (a syntax error is reported for every file, and the
parse is C), but the Python-level collectors, twice the parse's cost, run only on the files
whose facts can change the run's output. Which those are is decided on identifiers, as bytes:

1. Seeds: a file with ``async`` in it (its coroutines are where every codemod acts), or with a
   token a whole-program collector reads whatever code it is in (:data:`SEED_TOKENS`: the
   SQLAlchemy decision looks at every use of an engine or Session, dependency_close at every
   dependency, the test-double check at every ``patch``, cpu_to_executor at any startup/shutdown
   wiring of an app; ``# asyncfix:`` comments).
2. Then, to a fixed point, over the files collected so far (their call-graph facts): a def is
   *relevant* when it is a coroutine, a SQLAlchemy session function, named by a relevant def's
   calls (down: what a coroutine runs, which blocks or is CPU-heavy or becomes async), a method
   of a class so named, or when one of its calls names a relevant def (up: it calls a coroutine
   or a def that becomes async, and may become async itself; native conversion needs every
   caller). The names of relevant defs, the parts of their calls' targets and instance types,
   their classes' bases and attribute types are *interesting*: a file not collected yet that
   binds one (``def``/``class``, an import, which is how a re-export reaches it, an
   assignment) is collected next. A relevant def's name (a method's: its class's) is also
   looked for as any identifier of a file: that file may call it.

Names are matched as text (a superset of every way Python's import rules reach a def: a
re-export, an alias, a string), so a file left out cannot hold a def the call graph would
reach. The rule is checked, not assumed: tests/test_prefilter.py
runs every golden project and a real tree with and without it and requires the same output.

Off by default, on with ``ASYNCFIX_PREFILTER=1`` in the environment; ``[tool.asyncfix] migrate``
(whole-app migration: sync code everywhere is in scope) keeps it off. Measured (README, tool
speed): on the trees at hand most files are seeds (a library tree: 417 of 816 files hold async
code or a whole-program token, and the fixed point pulls in nearly all the rest; an application:
63 of 79 files collected), so the collection it saves does not pay for the second parse of the
files it pulls in and the fixed point itself: first-pass CPU within noise of the full scan.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Set

from .app_tokens import APP_WIRING_SEEDS
from .resolve import module_names

# An identifier as UTF-8 bytes (non-ASCII letters are kept whole, as their byte sequences).
_IDENTIFIER = re.compile(rb"[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*")

# Any of these in a file: its facts are collected whatever the call graph says.
SEED_TOKENS = (
    b"async",  # coroutines, `async with`, and names like AsyncSession
    b"asyncfix",  # opt-out and `# asyncfix: blocking` comments
    # sqlalchemy_to_async decides for the whole program from every engine/Session use
    b"sqlalchemy",
    b"sqlmodel",
    b"Session",
    b"engine",
    # dependency_close: dependencies, @contextmanager generators, session factories
    b"Depends",
    b"Security",
    b"dependency_overrides",
    b"contextmanager",
    b"sessionmaker",
    # test doubles (ModuleFacts.mocked) forbid converting what they replace
    b"patch",
    b"setattr",
    b"object(",
    b"responses",
    b"requests_mock",
    b"respx",
    b"pytest_httpx",
    # an app's startup/shutdown wired anywhere forbids adding a lifespan (cpu_to_executor's pool)
    *APP_WIRING_SEEDS,
)

# Names every method has or every call chain starts with: never a reason to collect a file.
_NOT_NAMES = frozenset({"self", "cls", "super", ""})


def enabled(options: Mapping[str, Any]) -> bool:
    return os.environ.get("ASYNCFIX_PREFILTER") == "1" and not options.get("migrate")


def is_seed(source: bytes) -> bool:
    return any(token in source for token in SEED_TOKENS)


# Where a file binds a name another file can reach it by: `def`/`class`, an import (`import a.b
# as c`, `from m import (x,\n y)`), an assignment at any indentation (`x = `, `x: T = `,
# `a, b = `). Text, so a superset (a match in a string counts too).
_BINDINGS = re.compile(
    rb"\b(?:def|class)[ \t]+([A-Za-z_\x80-\xff][\w\x80-\xff]*)"
    rb"|\bimport[ \t]*\(([^)]*)\)"
    rb"|\bimport[ \t]+([^\n#;]+)"
    rb"|^[ \t]*[(\[*]?[ \t]*([\w\x80-\xff]+(?:[ \t]*,[ \t]*[*]?[\w\x80-\xff]+)*)"
    rb"[ \t]*,?[ \t]*[)\]]?[ \t]*(?::[^=\n]*)?=(?!=)",
    re.MULTILINE,
)


def identifiers(source: bytes) -> FrozenSet[str]:
    """Every identifier of the file (a superset: strings and comments count too)."""
    return frozenset(name.decode("utf-8", "replace") for name in set(_IDENTIFIER.findall(source)))


def bindings(source: bytes) -> FrozenSet[str]:
    """The names the file may bind where an import or a qualified name can reach them.

    A byte-level reader on purpose, not bindings.py (the one reader of bindings by Python's
    scoping rules): it runs before the file is parsed, to decide whether to parse it at all,
    so it reads text: the bindings other files reach a module's names by (``def``, ``class``,
    imports, assignments, see _BINDINGS), a match in a string or comment counting too."""
    found: Set[bytes] = set()
    for match in _BINDINGS.finditer(source):
        for group in match.groups():
            if group:
                found.update(_IDENTIFIER.findall(group))
    return frozenset(name.decode("utf-8", "replace") for name in found)


def _parts(dotted: str) -> Iterable[str]:
    return dotted.replace("(", ".").replace(")", ".").split(".")


class Demand:
    """The fixed point: feed it the facts of each collected file (:meth:`add`), ask it which of
    the files not collected yet to collect next (:meth:`wanted`), until that is empty."""

    def __init__(self, module_key: str) -> None:
        self.key = module_key
        self.facts: Dict[str, Any] = {}  # path -> ModuleFacts of the collected files
        self.sessions: Dict[str, Set[str]] = {}  # path -> SQLAlchemy session def qualnames
        self.up: Set[str] = set()  # names of relevant defs: a call naming one is relevant
        # Names whose callers matter (a file that mentions one is collected), and names whose
        # definition matters (a file that binds one is collected).
        self.callers: Set[str] = set()
        self.interesting: Set[str] = set()
        self.by_name: Dict[str, List[str]] = {}  # identifier -> paths not collected that hold it
        self.by_binding: Dict[str, List[str]] = {}  # bound name -> paths not collected
        self.pending: Set[str] = set()  # paths not collected yet
        self.owners: Dict[str, Dict[str, List[Any]]] = {}  # path -> def -> its calls, references
        self.fresh: Set[str] = set()  # interesting names not yet looked up in by_binding
        self.fresh_callers: Set[str] = set()  # caller names not yet looked up in by_name
        # The top-level names of the run's modules (resolve.module_names, as the resolver
        # names them): a call on an import of any other top-level module (`time.sleep`) is a
        # library's.
        self.module_parts: Set[str] = set()

    def files(self, paths: Iterable[str], root: str) -> None:
        """Every file of the run (collected or not)."""
        for path in paths:
            self.module_parts.update(name.partition(".")[0] for name in module_names(path, root))

    @staticmethod
    def _reaching(module: Any, dotted: str) -> List[str]:
        """The names of ``dotted`` a file must bind to be where it leads: not the head when it
        is a module this file imports (``import a.b as c``): the module's own file is reached
        through the attribute names it binds."""
        parts = list(_parts(dotted))
        imported = module.imports.get(parts[0])
        if imported is not None and not imported[2] and len(parts) > 1:
            return parts[1:]
        return parts

    def _library(self, module: Any, target: str) -> bool:
        """Whether ``target`` is rooted in an absolute import of a module no file of the run
        can be (so no project def is reached through it)."""
        imported = module.imports.get(target.partition(".")[0])
        if imported is None or imported[0] != 0:
            return False
        return imported[1].partition(".")[0] not in self.module_parts

    def waiting(self, path: str, names: Iterable[str], bound: Iterable[str]) -> None:
        """A file that was not collected, its identifiers and the names it binds."""
        self.pending.add(path)
        for name in names:
            self.by_name.setdefault(name, []).append(path)
        for name in bound:
            self.by_binding.setdefault(name, []).append(path)

    def add(self, path: str, facts: Mapping[str, Any]) -> None:
        self.pending.discard(path)
        module = facts.get(self.key)
        if module is not None:
            self.facts[path] = module
        sqlalchemy = facts.get("sqlalchemy_to_async")
        if sqlalchemy is not None:
            self.sessions[path] = {q for q, _, _ in getattr(sqlalchemy, "session_defs", ())}

    def _interest(self, names: Iterable[str]) -> None:
        """Names a relevant def reaches down: the files defining them are collected."""
        for name in names:
            if name not in _NOT_NAMES and name not in self.interesting:
                self.interesting.add(name)
                self.fresh.add(name)

    def _caller(self, name: str) -> None:
        """A relevant def or class: the files that name it (its callers) are collected."""
        self._interest((name,))
        if name.startswith("__") and name.endswith("__"):
            return  # a dunder is called by the language, or through the class hierarchy
        if name not in self.callers:
            self.callers.add(name)
            self.fresh_callers.add(name)

    def wanted(self) -> List[str]:
        """The files to collect next (sorted); empty at the fixed point."""
        while True:
            before = (len(self.up), len(self.interesting), len(self.callers))
            for path, module in self.facts.items():
                self._relevant(path, module)
            if (len(self.up), len(self.interesting), len(self.callers)) == before:
                break
        out: Set[str] = set()
        for name in self.fresh:
            out.update(p for p in self.by_binding.get(name, ()) if p in self.pending)
        for name in self.fresh_callers:
            out.update(p for p in self.by_name.get(name, ()) if p in self.pending)
        self.fresh.clear()
        self.fresh_callers.clear()
        return sorted(out)

    def _relevant(self, path: str, module: Any) -> None:
        by_owner = self.owners.get(path)
        if by_owner is None:
            by_owner = self.owners[path] = {}
            for item in (*module.calls, *module.references):
                by_owner.setdefault(item.owner, []).append(item)
        sessions = self.sessions.get(path, ())
        relevant_classes: Set[str] = set()
        for qualname, class_bases in module.classes.items():
            if qualname.rpartition(".")[2] in self.interesting:
                relevant_classes.add(qualname)
        for qualname, definition in module.defs.items():
            mine = by_owner.get(qualname, ())
            relevant = (
                definition.is_async
                or qualname in sessions
                # a method is reached through its class (a call names the class, an instance
                # of it, or a subclass, whose bases are interesting)
                or (not definition.owner_class and definition.name in self.interesting)
                or definition.owner_class in relevant_classes
                or any(part in self.up for item in mine for part in _parts(item.target))
            )
            if not relevant:
                continue
            self.up.add(definition.name)
            if "<locals>" in qualname:
                self._interest((definition.name,))  # called in this file only
            elif not definition.owner_class:
                # A method is reached through its class (`Repo(...).m()`, an instance typed
                # `Repo`, `self.m()` in a subclass, which names the base): the class's name
                # below is what a caller's file holds.
                self._caller(definition.name)
            for item in mine:
                if item.instance_of:  # `x.m()` with x typed: resolved through that class
                    self._dotted(module, item.instance_of)
                elif _parts(item.target)[0] not in _NOT_NAMES:
                    self._dotted(module, item.target)
                # else `self.m()`: this class, its bases and attribute types (below)
            if definition.owner_class:
                relevant_classes.add(definition.owner_class)
                if "<locals>" not in definition.owner_class:
                    for part in definition.owner_class.split("."):
                        self._caller(part)
        for qualname in relevant_classes:
            for base in module.classes.get(qualname, ()):
                self._dotted(module, base)
            prefix = qualname + "."
            for attribute, kind in module.attributes.items():
                if attribute.startswith(prefix):
                    self._dotted(module, kind)
        for alias, kind in module.type_aliases.items():
            if alias in self.interesting:
                self._dotted(module, kind)

    def _dotted(self, module: Any, dotted: str) -> None:
        if not self._library(module, dotted):
            self._interest(self._reaching(module, dotted))
