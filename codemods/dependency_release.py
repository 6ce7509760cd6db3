"""What dependency_close releases, and how: the object a yielded name was created by, followed
through imports, aliases and re-exports (this file's facts merged with the project's), looked up
in the tables (dependency_facts.KNOWN_RELEASES), the session factories and the project's classes.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional

import libcst as cst
from libcst.metadata import QualifiedNameSource, ScopeProvider

from . import syntax
from .callgraph import collect_module
from .dependency_facts import (
    KNOWN_RELEASES,
    absolute_names,
    class_release,
    combine_facts,
    merge_facts,
    modules_of,
)


class ReleaseLookup:
    """DependencyClose's lookups (a mixin): how the object a call returns is released."""

    _modules: List[str]
    _package: bool
    _facts: Dict[str, Any]

    def _read_facts(self) -> None:
        """This file's names and the project's facts about dependencies, classes, factories."""
        root = self.file.project.root
        filename = self.file.filename
        self._modules = modules_of(filename, root)
        self._package = os.path.basename(filename) == "__init__.py"
        local: Optional[Mapping[str, Any]] = None
        try:  # this file's own facts: a single file (stdin, tests) has no project index
            tree = syntax.parse(self.file.source)
            source = self.file.source.encode()
            own = type(self).collect(tree, filename, source, collect_module(tree, filename, source))
            local = combine_facts({filename: own}, root) if own else None
        except (SyntaxError, ValueError):
            local = None
        self._facts = merge_facts(self.file.project.get(self.NAME) or {}, local or {})

    # what a name refers to, through imports, re-exports and this module

    def _names_of(self, node: cst.BaseExpression) -> List[str]:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return []
        found: List[str] = []
        for qualified in scope.get_qualified_names_for(node):
            if qualified.source is QualifiedNameSource.LOCAL:
                found.extend(absolute_names(":" + qualified.name, self._modules, False))
            elif qualified.source is QualifiedNameSource.IMPORT and qualified.name.startswith("."):
                found.extend(absolute_names(qualified.name, self._modules, self._package))
            else:
                found.append(qualified.name)
        aliases = self._facts["aliases"]
        result: List[str] = []
        for name in found:
            for _ in range(8):  # re-export chains; bounded against cycles
                if name in result:
                    break
                result.append(name)
                if name not in aliases:
                    break
                name = aliases[name]
        return result

    def _known_release(self, callee: cst.BaseExpression, awaited: bool, is_async: bool):
        """(method, awaited) for the object ``callee(...)`` returns; None when it is known not
        to be a resource (a project class without close); "?" when unknown."""
        for name in self._names_of(callee):
            if name in KNOWN_RELEASES:
                release = KNOWN_RELEASES[name]
                if release[1] != awaited and name in ("asyncpg.connect", "aiosqlite.connect"):
                    continue  # not awaited: a coroutine / a context manager, not the connection
                return release
            if awaited:
                continue
            kind = self._facts["factories"].get(name)
            if kind is not None:
                return {"sync": ("close", False), "async": ("close", True)}.get(kind, "?")
            if name in self._facts["classes"]:
                return class_release(self._facts, name, is_async, set())
        return "?"

    def _release_of(self, creation: cst.SimpleStatementLine, is_async: bool):
        """How the object ``creation`` assigns is released (see _known_release), and the
        callee's source text."""
        value = creation.body[0].value
        awaited = isinstance(value, cst.Await)
        call = value.expression if awaited else value
        return self._known_release(call.func, awaited, is_async), cst.Module([]).code_for_node(
            call.func
        )
