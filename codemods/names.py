"""Names across the program: what a dotted name, written in a module of the project, refers
to (a definition, a class, a library coroutine), and the fully qualified name of a call's target
outside the project. Module files are found with resolve.py's import rules."""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from .astwalk import BUILTINS
from .coroutine_tables import LIBRARY_COROUTINE_METHODS, LIBRARY_COROUTINES
from .program_facts import DefKey, ModuleFacts
from .resolve import absolute, module_names, package_of

# Base classes that do not make a method an override of a library's sync method.
NEUTRAL_BASES = frozenset(
    {"object", "typing.Generic", "typing.Protocol", "abc.ABC", "Generic", "Protocol", "ABC"}
)


class ModuleFinder:
    """Which file of the program a module name means, as written in a file of it (resolve.py's
    rules; of several files with one name, the nearest the importer)."""

    def __init__(self, paths: Iterable[str], root: str) -> None:
        self.root = root
        self.by_name: Dict[str, List[str]] = {}
        self.package: Dict[str, str] = {}
        self.nearest: Dict[Tuple[str, str], str] = {}
        for path in sorted(paths):
            for name in module_names(path, root):
                self.by_name.setdefault(name, []).append(path)
            self.package[path] = package_of(path, root) or ""

    def module(self, name: str, importer: str) -> Optional[str]:
        """The file for module ``name``; among several, the one nearest the importer."""
        paths = self.by_name.get(name)
        if not paths:
            return None
        if len(paths) == 1:
            return paths[0]
        here = os.path.dirname(importer)
        key = (name, here)
        if key not in self.nearest:  # asked once per call site: memoised per directory
            self.nearest[key] = max(
                paths,
                key=lambda p: (
                    len(os.path.commonpath([here, os.path.dirname(p)])),
                    -paths.index(p),
                ),
            )
        return self.nearest[key]

    def absolute(self, importer: str, level: int, module: str) -> str:
        return absolute(self.package.get(importer, ""), level, module) or ""


class Resolver(ModuleFinder):
    def __init__(self, modules: Mapping[str, ModuleFacts], root: str) -> None:
        super().__init__(modules, root)
        self.modules = modules
        self.resolved: Dict[Tuple[str, str, int], Optional[object]] = {}
        self._directories: Dict[str, str] = {}  # importer -> its directory (every call asks)
        # (path, owner, target, instance_of) -> the answer of call() / qualify(): every analysis
        # asks about the same call sites (on an 816-file tree, 508k calls of 80k call sites)
        self._calls: Dict[Tuple[str, str, str, str], Optional[object]] = {}
        self._qualified: Dict[Tuple[str, str, str, str], Optional[str]] = {}

    def dotted(self, full: str, importer: str, depth: int = 0) -> Optional[object]:
        """A DefKey, "lib:<name>" for a library coroutine, ("class", DefKey) for a project
        class, or None."""
        # The answer depends on the importer only through its directory (the nearest module of
        # a duplicated name): memoised on that, since most call sites repeat a few targets.
        here = self._directories.get(importer)
        if here is None:
            here = self._directories[importer] = os.path.dirname(importer)
        key = (full, here, depth)
        if key not in self.resolved:
            self.resolved[key] = self._dotted(full, importer, depth)
        return self.resolved[key]

    def _dotted(self, full: str, importer: str, depth: int) -> Optional[object]:
        segments = full.split(".")
        for cut in range(len(segments), 0, -1):
            path = self.module(".".join(segments[:cut]), importer)
            if path is None:
                continue
            rest = segments[cut:]
            if not rest:
                return None
            return self.inside(path, rest, depth)
        if full in LIBRARY_COROUTINES:
            return f"lib:{full}"
        if full in LIBRARY_COROUTINE_METHODS:
            return f"libclass:{full}"
        return None

    def inside(self, path: str, rest: List[str], depth: int) -> Optional[object]:
        facts = self.modules[path]
        qualname = ".".join(rest)
        if qualname in facts.defs:
            return (path, qualname)
        if qualname in facts.classes:
            return ("class", (path, qualname))
        if len(rest) == 2 and rest[0] in facts.classes:  # Class.method via a base
            return self.method((path, rest[0]), rest[1])
        if rest[0] in facts.imports and depth < 8:  # re-exported: `from .models import User`
            level, module, attribute = facts.imports[rest[0]]
            base = self.absolute(path, level, module)
            full = ".".join(filter(None, [base, attribute, *rest[1:]]))
            return self.dotted(full, path, depth + 1)
        return None

    def name(self, path: str, owner: str, dotted: str) -> Optional[object]:
        """Resolve dotted text as written in module ``path`` inside function ``owner``."""
        facts = self.modules[path]
        segments = dotted.split(".")
        head = segments[0]
        if head in ("self", "cls") and len(segments) == 2 and owner in facts.defs:
            cls = facts.defs[owner].owner_class
            if cls:
                return self.method((path, cls), segments[1])
            return None
        scope = owner
        while scope and len(segments) == 1:  # nested defs: outer.<locals>.name
            candidate = f"{scope}.<locals>.{head}"
            if candidate in facts.defs:
                return (path, candidate)
            scope = scope.rpartition(".<locals>.")[0]
        if head in facts.defs or head in facts.classes:
            return self.inside(path, segments, 0)
        if head in facts.imports:
            level, module, attribute = facts.imports[head]
            base = self.absolute(path, level, module)
            full = ".".join(filter(None, [base, attribute, *segments[1:]]))
            return self.dotted(full, path)
        return None

    def method(self, cls: DefKey, name: str, depth: int = 0) -> Optional[object]:
        path, qualname = cls
        facts = self.modules[path]
        if f"{qualname}.{name}" in facts.defs:
            return (path, f"{qualname}.{name}")
        if depth > 8:
            return None
        for base in facts.classes.get(qualname, ()):
            resolved = self.name(path, "", base) if base else None
            if isinstance(resolved, tuple) and resolved[0] == "class":
                found = self.method(resolved[1], name, depth + 1)
                if found is not None:
                    return found
        return None

    def instance_type(self, path: str, owner: str, instance_of: str) -> Tuple[str, str]:
        """Where and as what text an ``instance_of`` is to be read: ``self.repo`` -> the type
        ``__init__`` gave it; a type alias -> its type, read in the module that defines the alias
        (``from app.deps import SessionDep`` follows the import); else itself, in ``path``."""
        facts = self.modules[path]
        if instance_of.startswith("self.") and owner in facts.defs:
            cls = facts.defs[owner].owner_class
            return path, (facts.attributes.get(f"{cls}.{instance_of[5:]}", "") if cls else "")
        head, _, rest = instance_of.partition(".")
        if not rest:
            alias = self._type_alias(path, head, 0)
            if alias is not None:
                return alias
        return path, instance_of

    def _type_alias(self, path: str, name: str, depth: int) -> Optional[Tuple[str, str]]:
        facts = self.modules[path]
        if name in facts.type_aliases:
            return path, facts.type_aliases[name]
        if depth < 8 and name in facts.imports and name not in facts.defs:
            level, module, attribute = facts.imports[name]
            source = self.module(self.absolute(path, level, module), path) if attribute else None
            if source is not None and source in self.modules:
                return self._type_alias(source, attribute, depth + 1)
        return None

    def qualify(self, path: str, owner: str, target: str, instance_of: str) -> Optional[str]:
        key = (path, owner, target, instance_of)
        try:
            return self._qualified[key]
        except KeyError:
            answer = self._qualify(path, owner, target, instance_of)
            self._qualified[key] = answer
            return answer

    def _qualify(self, path: str, owner: str, target: str, instance_of: str) -> Optional[str]:
        """The fully qualified name of a call's target outside the project (``time.sleep``,
        ``sqlalchemy.orm.Session.execute`` for ``db.execute()`` on ``db: Session``,
        ``builtins.open``), or None: a project definition, or unknown."""
        facts = self.modules[path]
        if instance_of:
            where, kind = self.instance_type(path, owner, instance_of)
            if not kind:
                return None
            cls = self.qualify(where, owner if where == path else "", kind, "")
            return f"{cls}.{target.rpartition('.')[2]}" if cls else None
        if target.startswith("()"):
            return None
        head, _, rest = target.partition(".")
        if head in facts.imports:
            level, module, attribute = facts.imports[head]
            full = ".".join(filter(None, [self.absolute(path, level, module), attribute, rest]))
            if self.dotted(full, path) is not None or self._in_project(full, path):
                return None
            return full
        if head in BUILTINS and head not in facts.defs and head not in facts.classes:
            return f"builtins.{target}"
        return None

    def _in_project(self, full: str, importer: str) -> bool:
        segments = full.split(".")
        return any(
            self.module(".".join(segments[:cut]), importer) for cut in range(len(segments), 0, -1)
        )

    def call(self, path: str, owner: str, target: str, instance_of: str) -> Optional[object]:
        """What a call site's target is (:meth:`dotted`'s answers), memoised per call site."""
        key = (path, owner, target, instance_of)
        try:
            return self._calls[key]
        except KeyError:
            answer = self._call(path, owner, target, instance_of)
            self._calls[key] = answer
            return answer

    def _call(self, path: str, owner: str, target: str, instance_of: str) -> Optional[object]:
        if instance_of:
            method = target.rpartition(".")[2]
            where, instance_of = self.instance_type(path, owner, instance_of)
            if not instance_of:
                return None
            cls = self.name(where, owner if where == path else "", instance_of)
            if isinstance(cls, tuple) and cls[0] == "class":
                return self.method(cls[1], method)
            if isinstance(cls, str) and cls.startswith("libclass:"):
                if method in LIBRARY_COROUTINE_METHODS[cls[len("libclass:") :]]:
                    return f"lib:{cls[len('libclass:'):]}.{method}"
            return None
        if target.startswith("()."):
            return None
        return self.name(path, owner, target)

    def non_project_bases(self, path: str, cls: str) -> List[str]:
        bases = []
        for base in self.modules[path].classes.get(cls, ()):
            resolved = self.name(path, "", base) if base else None
            if (
                not (isinstance(resolved, tuple) and resolved[0] == "class")
                and base not in NEUTRAL_BASES
            ):
                bases.append(base or "?")
        return bases
