"""One file's part of the SQLAlchemy closure (the first pass): the shared objects defined
here, every use of them and whether the transform converts it, and the local reasons a Session
function could not follow.
"""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from .astwalk import dotted_name
from .bindings import module_bindings
from .program_facts import ModuleFacts
from .sqla_checks import FunctionChecks
from .sqla_facts import (
    ASYNC_ENGINE,
    CLOSURE,
    CREATE_ASYNC_ENGINE,
    CREATE_ENGINE,
    DEPENDENCY,
    DRIVERS,
    ENGINE,
    FACTORY,
    FROM_SETTINGS,
    SESSIONMAKERS,
    STAYS_SYNC,
    SYNC_URL,
    URL,
    FileFacts,
    Shared,
    Site,
    _map_scheme,
    _resolve,
    _sqlite_evidence,
    _url_status,
)
from .sqla_index import FileIndex
from .sqla_mocks import doubles
from .sqla_scopes import scope_variable
from .sqla_shapes import (
    _Defs,
    _first_or,
    _module_aliases,
    _passed,
)
from .sqla_urls import reference, schemes, settings_url
from .sqla_uses import UseClassifier


class _Scan(UseClassifier, FunctionChecks, FileIndex):
    """One file's part of the closure (see the comment at the top of this section)."""

    def __init__(self, tree: ast.Module, path: str, source: bytes, module: ModuleFacts) -> None:
        super().__init__(tree, path, source, module)
        self._locals: Dict[int, Set[str]] = {}
        self.blockers: List[Site] = []
        self.residual: List[Site] = []
        self.needs: Dict[str, ast.AST] = {}  # name a rewrite imports -> where it is needed
        self.passed: Set[str] = set()  # function names handed to other code as values
        self.fixture_blockers: List[Site] = []
        self.disposals: List[Tuple[str, int]] = []
        self.connections: List[int] = []  # lines of `with engine.connect() as c` that convert
        # engine -> the overrides its import-time DDL moves into (sqla_testdb.override_functions)
        self.ddl_overrides: Dict[str, FrozenSet[str]] = {}

    # the shared objects defined here

    def shared(self) -> List[Shared]:
        found: List[Shared] = []
        for statement in self.tree.body:
            if scope_variable(statement, self.imports):  # `@contextmanager def session_scope()`
                name = statement.name  # type: ignore[attr-defined]
                found.append(Shared(name, FACTORY, self.site(statement, CLOSURE, "")))
                continue
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            else:
                continue
            if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
                continue
            callee = _resolve(value.func, self.imports)
            url = _first_or(value, "url")
            if callee in CREATE_ENGINE:
                evidence = _sqlite_evidence(value)
                if isinstance(url, ast.Name) and url.id in self.env_defaults:
                    evidence = evidence or _map_scheme(self.env_defaults[url.id])[1]
                package, why = _url_status(url, self.module_strings, evidence, self.text)
                problem = (
                    None
                    if package
                    else self.site(
                        value,
                        URL,
                        why,
                        (
                            (
                                "use a literal URL naming the driver, or declare it in pyproject.toml: "
                                '[tool.asyncfix] async-driver = "postgresql+asyncpg"'
                            )
                            if FROM_SETTINGS in why
                            else "use a literal URL naming the driver, or convert the engine by hand"
                        ),
                    )
                )
                found.append(
                    Shared(
                        target.id,
                        ENGINE,
                        self.site(value, CLOSURE, ""),
                        problem=problem,
                        url_ref=reference(url) if problem is not None else "",
                        driver=package or "",
                    )
                )
            elif callee in CREATE_ASYNC_ENGINE:
                status = url.value if isinstance(url, ast.Constant) else None
                if isinstance(url, ast.Name) and isinstance(
                    self.module_strings.get(url.id), ast.Constant
                ):
                    status = self.module_strings[url.id].value
                driver = _map_scheme(status)[1] if isinstance(status, str) else None
                found.append(
                    Shared(
                        target.id,
                        ASYNC_ENGINE,
                        self.site(value, CLOSURE, ""),
                        driver=driver or "",
                    )
                )
                if isinstance(status, str):
                    scheme = status.partition("://")[0]
                    if scheme in DRIVERS:
                        self.residual.append(
                            self.site(
                                value,
                                SYNC_URL,
                                f"create_async_engine() with the sync driver URL `{scheme}://...`",
                                f"use {DRIVERS[scheme][0]}:// (pip install {DRIVERS[scheme][1]})",
                            )
                        )
            elif callee in SESSIONMAKERS:
                bind = _first_or(value, "bind")
                problem = None
                for keyword in value.keywords:
                    if keyword.arg == "autocommit" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    ):
                        problem = self.site(
                            value,
                            DEPENDENCY,
                            "sessionmaker(autocommit=...) has no async twin",
                            "drop autocommit and use explicit transactions",
                        )
                found.append(
                    Shared(
                        target.id,
                        FACTORY,
                        self.site(value, CLOSURE, ""),
                        bind=(dotted_name(bind) or "") if bind is not None else "",
                        problem=problem,
                    )
                )
        return found


def _collect(
    tree: ast.Module, path: str, source: bytes, module: ModuleFacts
) -> Optional[FileFacts]:
    scan = _Scan(tree, path, source, module)
    aliases = _module_aliases(tree, scan.imports)
    imported = frozenset(
        local for local, (_, _, attribute) in scan.project_imports.items() if attribute
    )
    defs = _Defs(scan.imports, aliases, imported)
    defs.visit(tree)
    scan.meets_async = False
    shared = scan.shared()
    scan.maybe_factories = {s.name for s in shared if s.kind == FACTORY} | {
        attribute for _, _, attribute in scan.project_imports.values() if attribute
    }
    candidates = {s.name for s in shared} | {
        local for local, (_, _, attribute) in scan.project_imports.items() if attribute
    }
    passed = scan.passed = _passed(scan.calls)
    uses = scan.uses(candidates)
    for qualname, function, sessions in defs.nodes:
        if sessions or isinstance(function, ast.AsyncFunctionDef):
            scan.session_function(qualname, function, sessions, passed)
    # Parameters annotated by a name imported from the project: checked as sessions, their
    # findings kept apart until combine() knows whether the name is a Session alias.
    alias_defs, alias_blockers = [], []
    for qualname, function, parameter, ref in defs.maybe:
        alias_defs.append((qualname, isinstance(function, ast.AsyncFunctionDef), ref))
        kept, scan.blockers = scan.blockers, []
        scan.session_function(qualname, function, {parameter: "sqlalchemy"}, passed)
        alias_blockers.extend((ref, site) for site in scan.blockers)
        scan.blockers = kept
    scan.relationships()
    scan.clashes()
    call_refs = tuple(scan.call_refs())
    passed_refs = tuple(scan.passed_refs())
    factories = tuple(s.name for s in shared if s.kind == FACTORY)
    url_schemes = schemes(tree) if settings_url(source) else ()
    session_doubles = doubles(tree) if b"__enter__" in source else ()
    if not (
        defs.found
        or shared
        or uses
        or scan.blockers
        or scan.residual
        or scan.meets_async
        or aliases
        or alias_defs
        or scan.fixture_blockers
        or defs.engine_defs
        or scan.cli_commands
        or call_refs
        or passed_refs
        or url_schemes
        or session_doubles
    ):
        return None
    return FileFacts(
        session_defs=tuple(defs.found),
        factories=factories,
        shared=tuple(shared),
        imports=tuple((local, *origin) for local, origin in sorted(scan.project_imports.items())),
        uses=tuple(uses),
        blockers=tuple(scan.blockers),
        residual=tuple(scan.residual),
        passed=frozenset(passed),
        meets_async=scan.meets_async,
        aliases=tuple(sorted(aliases.items())),
        alias_defs=tuple(alias_defs),
        url_schemes=url_schemes,
        doubles=session_doubles,
        alias_blockers=tuple(alias_blockers),
        fixture_blockers=tuple(scan.fixture_blockers),
        disposals=tuple(scan.disposals),
        connections=tuple(scan.connections),
        ddl_overrides=tuple(
            (engine, tuple(sorted(names))) for engine, names in sorted(scan.ddl_overrides.items())
        ),
        engine_defs=tuple(defs.engine_defs),
        holders=tuple(sorted(defs.holder_classes)),
        holder_attributes=tuple(
            sorted({a[5:] for attrs in defs.holder_classes.values() for a in attrs})
        ),
        outside_reads=tuple(
            (node.func.value.attr, scan.site(node.func.value, STAYS_SYNC, ""))
            for node in scan.calls
            if isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id not in ("self", "cls")
            and node.func.value.value.id not in scan.imports
        ),
        commands=tuple(sorted(scan.cli_commands.items())),
        bound=(
            tuple(sorted(module_bindings(tree, {**scan.imports, **scan.project_imports})))
            if scan.cli_commands
            else ()
        ),
        call_refs=call_refs,
        passed_refs=passed_refs,
        class_bases=tuple(
            (statement.name, dotted_name(base) or "", scan.site(statement, CLOSURE, ""))
            for statement in tree.body
            if isinstance(statement, ast.ClassDef)
            for base in statement.bases
            if (dotted_name(base) or "").partition(".")[0] in scan.project_imports
        ),
    )
