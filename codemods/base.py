"""What every asyncfix codemod is made of.

A codemod is a libcst ``CodemodCommand`` run as a plain ``CSTTransformer`` and its first pass
(first_pass.py: what the engine runs before libcst), with three declarative attributes:

- ``NAME``: the module name; also the ``--select`` value, the ``before_after/`` folder, the test
  module and the README row.
- ``DESCRIPTION``: one line for ``--list-codemods``.
- ``NEEDS``: byte strings of which at least one must occur in a file before the file is parsed
  for this codemod at all (the cheap first pass of the engine; most files of a big tree never
  reach libcst).

It reports what it will not rewrite with :meth:`Codemod.report` (a :class:`Diagnostic`), counts
what it rewrote with :meth:`Codemod.rewrote`, and asks the shared helpers here whether a node
runs as part of a coroutine (:meth:`Codemod.coroutine_of`) and whether the user opted a line
out (:meth:`Codemod.ignored`).
"""

from __future__ import annotations

from typing import Optional, Set, Tuple, Union

import libcst as cst
import libcst.helpers
from libcst.codemod import Codemod as Codemod_
from libcst.codemod import CodemodCommand, CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    ComprehensionScope,
    FunctionScope,
    PositionProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from . import linediff
from .diagnostic import Diagnostic  # noqa: F401 - its home is diagnostic.py (no libcst)
from .first_pass import FileContext, FirstPass
from .import_removal import remove_scheduled_imports


class _Genexp:
    """Marker returned by :meth:`Codemod.coroutine_of` for code inside a generator expression
    of a coroutine: `await` there would silently turn it into an async generator."""


GENEXP = _Genexp()


def module_imports(module: cst.Module) -> Set[Tuple[str, int, Optional[str]]]:
    """(module, relative level, name) of every module-level import statement of ``module``
    (name None for ``import a.b``, "*" for a star import), where AddImportsVisitor adds."""
    found: Set[Tuple[str, int, Optional[str]]] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    found.add((libcst.helpers.get_full_name_for_node(alias.name) or "", 0, None))
            elif isinstance(small, cst.ImportFrom):
                name = libcst.helpers.get_full_name_for_node(small.module) if small.module else ""
                level = len(small.relative)
                if isinstance(small.names, cst.ImportStar):
                    found.add((name or "", level, "*"))
                    continue
                for alias in small.names:
                    found.add((name or "", level, cst.ensure_type(alias.name, cst.Name).value))
    return found


class Codemod(FirstPass, CodemodCommand, cst.CSTTransformer):
    """A codemod's libcst transformer: its first pass (:class:`FirstPass`) and the rewrite.

    What libcst's ``VisitorBasedCodemodCommand`` is, without its matcher-decorator base: that
    base looks through the ~1,700 attributes of every new instance for ``@m.visit``-style
    decorators (none here), ~10 ms per codemod per file, and asks about them at every node."""

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider)

    def __init__(self, context: CodemodContext, file: FileContext) -> None:
        CodemodCommand.__init__(self, context)
        cst.CSTTransformer.__init__(self)
        self.file = file

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return tree.visit(self)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """libcst's run (metadata, the transform, then AddImportsVisitor), except that the
        imports scheduled for removal go through import_removal (no alias or comment lost)."""
        tree = Codemod_.transform_module(self, tree)
        if AddImportsVisitor.CONTEXT_KEY in self.context.scratch:
            had = module_imports(tree)
            tree = AddImportsVisitor(self.context).transform_module(tree)
            # Only a name the module did not import yet ties this file to that module's
            # rewrite (groups.py); re-asking for one it had changes nothing there.
            for module, relative, _ in module_imports(tree) - had:
                self.file.imported.add((module, relative))
        return remove_scheduled_imports(self.context, tree)

    # -- reporting --------------------------------------------------------------------------

    def _lines(self, node: cst.CSTNode) -> range:
        """The lines an opt-out comment for ``node`` may stand on: all of a simple statement or
        expression, only the first line of a compound statement (``def``, ``with``, ...), whose
        body has lines of its own."""
        pos = self.get_metadata(PositionProvider, node)
        end = pos.start.line if isinstance(node, cst.BaseCompoundStatement) else pos.end.line
        return range(self.original_line(pos.start.line), self.original_line(end) + 1)

    def original_line(self, line: int) -> int:
        """The line of the file as read that ``line`` of the tree being transformed comes from
        (they differ when an earlier codemod added or removed lines, e.g. an import)."""
        if not self.file.shifted:
            return line
        line_map = getattr(self, "_line_map", None)
        if line_map is None:
            line_map = {}
            for tag, i1, i2, j1, j2 in linediff.opcodes(
                self.file.source.splitlines(),
                self.module.code.splitlines(),
                lambda line: not line.strip(),  # blank lines: junk, so they start no match
            ):
                for offset, current in enumerate(range(j1, j2)):
                    original = i1 + offset if tag == "equal" else min(i1 + offset, max(i1, i2 - 1))
                    line_map[current + 1] = original + 1
            self._line_map = line_map
        return line_map.get(line, line)

    def ignored(self, node: cst.CSTNode) -> bool:
        """True when a line of ``node`` carries an opt-out comment for this codemod."""
        if not self.file.ignores:
            return False
        for line in self._lines(node):
            if line in self.file.ignores:
                names = self.file.ignores[line]
                if names is None or self.NAME in names:
                    return True
        return False

    def report(self, node: cst.CSTNode, code: str, message: str, hint: str = "") -> None:
        """Record a diagnostic at ``node`` unless its line opts out of this codemod."""
        if self.ignored(node):
            return
        pos = self.get_metadata(PositionProvider, node).start
        line = self.original_line(pos.line)
        self.file.diagnostics.append(
            Diagnostic(self.file.path, line, pos.column + 1, code, message, hint, self.NAME)
        )

    def rewrote(self, count: int = 1) -> None:
        self.file.rewrites[self.NAME] += count
        for package in self.REQUIRES:
            self.require(package)

    def require(self, package: str) -> None:
        """Record that this file's rewritten code needs ``package`` (a pip name) at runtime."""
        self.file.requirements.setdefault(package, set()).add(self.NAME)

    # -- scope questions --------------------------------------------------------------------

    def coroutine_of(self, node: cst.CSTNode) -> Union[cst.FunctionDef, _Genexp, None]:
        """The ``async def`` whose own body evaluates ``node``, if any.

        A nested sync ``def``, a ``lambda`` or a class body is not async even inside an
        ``async def``. Default values and decorators of a nested def, and the first iterable of a
        comprehension, are evaluated by the enclosing function (libcst's scopes know this).
        A list/set/dict comprehension directly in a coroutine may await; a generator expression
        may not (returns :data:`GENEXP`), nor may a comprehension nested in another one (an
        error before Python 3.11: returns None).
        """
        scope = self.get_metadata(ScopeProvider, node, None)
        depth = 0
        while isinstance(scope, ComprehensionScope):
            if isinstance(scope.node, cst.GeneratorExp):
                return GENEXP if self._function_is_async(scope) else None
            depth += 1
            scope = scope.parent
        if depth > 1:
            return None
        if isinstance(scope, FunctionScope) and isinstance(scope.node, cst.FunctionDef):
            if self.is_async_def(scope.node):
                return scope.node
        return None

    def is_async_def(self, node: cst.FunctionDef) -> bool:
        """``async def``, or a ``def`` the await machinery makes async in this run."""
        if node.asynchronous is not None:
            return True
        if not self.file.project.actions:
            return False
        line = self.get_metadata(PositionProvider, node).start.line
        return self.file.project.becomes_async(self.file.filename, line, node.name.value)

    def _function_is_async(self, scope: object) -> bool:
        while isinstance(scope, ComprehensionScope):
            scope = scope.parent
        return (
            isinstance(scope, FunctionScope)
            and isinstance(scope.node, cst.FunctionDef)
            and self.is_async_def(scope.node)
        )

    def imported_name(self, node: cst.CSTNode) -> Optional[str]:
        """The fully qualified name ``node`` refers to when it comes from an import, and only
        then: ``t.sleep`` after ``import time as t`` gives ``time.sleep``; a local variable
        called ``time``, or a name bound by an import on one path and something else on
        another, gives None.

        Asked through the node's scope only for the nodes a codemod cares about, which is much
        cheaper than QualifiedNameProvider (it resolves every name of the module)."""
        if not is_dotted_name(node):
            return None  # `f(x).attr`: libcst would name it after `f`, which it is not
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return None
        names = scope.get_qualified_names_for(node)
        if len(names) != 1:
            return None
        (name,) = names
        return name.name if name.source is QualifiedNameSource.IMPORT else None

    def drop_import_if_unused(self, node: cst.CSTNode) -> None:
        """Schedule the import that binds ``node``'s root name for removal; libcst's
        RemoveImportsVisitor removes it after the transform only if nothing uses it any more."""
        root = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return
        scope = self.get_metadata(ScopeProvider, root, None)
        if scope is None:
            return
        for assignment in scope[root.value]:
            stmt = assignment.node
            if isinstance(stmt, cst.Import):
                for alias in stmt.names:
                    if (alias.evaluated_alias or alias.evaluated_name) == root.value:
                        self.remove_unused_import(
                            alias.evaluated_name, asname=alias.evaluated_alias
                        )
            elif isinstance(stmt, cst.ImportFrom) and not stmt.relative and stmt.module:
                if isinstance(stmt.names, cst.ImportStar):
                    continue
                module = cst.helpers.get_full_name_for_node(stmt.module)
                for alias in stmt.names:
                    if (alias.evaluated_alias or alias.evaluated_name) == root.value:
                        self.remove_unused_import(
                            module, alias.evaluated_name, asname=alias.evaluated_alias
                        )

    def name_is_free(self, node: cst.CSTNode, name: str, module: str) -> bool:
        """True when ``name`` at ``node`` is unbound or bound only by ``import module``, so
        that emitting ``name.attr`` there refers to that module."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        for assignment in scope[name]:
            if not isinstance(assignment.node, cst.Import):
                return False
            names = assignment.node.names
            if not any(
                isinstance(alias, cst.ImportAlias)
                and alias.evaluated_name == module
                and alias.asname is None
                for alias in names
            ):
                return False
        return True


def is_dotted_name(node: cst.CSTNode) -> bool:
    """``a`` or ``a.b.c``, the only shapes whose scope-qualified name means what it says
    (libcst names ``open(p).read`` after ``open`` itself)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def awaited(expression: cst.BaseExpression) -> cst.Await:
    """``await expression``. Where the result is used as the value of an attribute, subscript
    or call, the engine's final pass adds the parentheses that precedence needs
    (``(await f()).x``)."""
    return cst.Await(expression=expression)


class ParenthesizeAwaits(cst.CSTTransformer):
    """``await f().x`` awaits ``f().x``; a rewritten ``f().x`` must read ``(await f()).x``.

    Run once by the engine after all codemods, so no codemod has to know its parent."""

    @staticmethod
    def _wrap(node: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(node, cst.Await) and not node.lpar:
            return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return node

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(value=self._wrap(updated.value))

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.Subscript:
        return updated.with_changes(value=self._wrap(updated.value))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return updated.with_changes(func=self._wrap(updated.func))
