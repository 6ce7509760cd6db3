"""The transform's setup side: engine and URL, session factory, relationships (where the
DDL runs: sqla_ddl).
"""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, PositionProvider, ScopeProvider

from .sqla_facts import (
    ASYNC_DRIVERS,
    CREATE_ENGINE,
    DEPENDENCY,
    ENV_GETTERS,
    LAZY,
    RELATIONSHIP,
    SESSIONMAKERS,
    SQLMODEL_RELATIONSHIP,
    URL,
    WANTED_NAMES,
    _map_scheme,
)
from .sqla_nodes import _fix_commas, _trailing


class SetupRewrites:
    """Mixin of SqlalchemyToAsync."""

    # -- setup: engine, session factory, relationships ---------------------------------------

    def _engine_url_names(self, module: cst.Module) -> Set[str]:
        names: Set[str] = set()
        for call in m.findall(
            module, m.Call(func=m.Name("create_engine") | m.Attribute(attr=m.Name("create_engine")))
        ):
            if self.imported_name(call.func) in CREATE_ENGINE:
                url = self._url_arg(call)
                if url is not None and isinstance(url.value, cst.Name):
                    names.add(url.value.value)
        strings = {
            statement.body[0].targets[0].target.value
            for statement in module.body
            if m.matches(
                statement,
                m.SimpleStatementLine(
                    body=[
                        m.Assign(
                            targets=[m.AssignTarget(target=m.Name())],
                            value=m.SimpleString() | m.ConcatenatedString() | m.FormattedString(),
                        )
                    ]
                ),
            )
        }
        return names & strings

    @staticmethod
    def _url_arg(call: cst.Call) -> Optional[cst.Arg]:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "url":
                return arg
        first = call.args[0] if call.args else None
        return first if first is not None and first.keyword is None and not first.star else None

    def _mapped_string(self, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        """The URL literal with its driver made async (requirement recorded); None if unknown."""
        if isinstance(node, cst.SimpleString):
            url, package = _map_scheme(
                node.evaluated_value if isinstance(node.evaluated_value, str) else ""
            )
            if url is None:
                return None
            self.require(package)
            prefix = node.prefix
            quote = node.quote
            return (
                node.with_changes(value=f"{prefix}{quote}{url}{quote}")
                if url != node.evaluated_value
                else node
            )
        if (
            isinstance(node, cst.FormattedString)
            and node.parts
            and isinstance(node.parts[0], cst.FormattedStringText)
        ):
            text = node.parts[0].value
            url, package = _map_scheme(text)
            if url is None:
                return None
            self.require(package)
            return node.with_changes(parts=[node.parts[0].with_changes(value=url), *node.parts[1:]])
        return None

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if (
            len(original.targets) == 1
            and isinstance(original.targets[0].target, cst.Name)
            and original.targets[0].target.value in self._url_names
            and isinstance(
                self.get_metadata(ScopeProvider, original.targets[0].target, None), GlobalScope
            )
        ):
            mapped = self._mapped_string(updated.value)
            if mapped is None:
                self.report(
                    original,
                    URL,
                    "the engine URL's driver has no known async twin",
                    "use sqlite+aiosqlite, postgresql+asyncpg or mysql+aiomysql",
                )
            elif mapped is not updated.value:
                self.rewrote()
                return updated.with_changes(value=mapped)
        return updated

    def _setup_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = (
            self.imported_name(original.func)
            if isinstance(original.func, (cst.Name, cst.Attribute))
            else None
        )
        if name in CREATE_ENGINE or name in SESSIONMAKERS:
            # The closure is about the module-level engines and factories the program shares; an
            # engine a function makes for itself (a test's check on a file) is its own business.
            if not isinstance(self.get_metadata(ScopeProvider, original, None), GlobalScope):
                return updated
            return (
                self._engine(original, updated)
                if name in CREATE_ENGINE
                else self._sessionmaker(original, updated)
            )
        if name in RELATIONSHIP or name in SQLMODEL_RELATIONSHIP:
            return self._relationship(original, updated)
        return updated

    def _engine(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        url = self._url_arg(updated)
        args = list(updated.args)
        if url is None:
            self.report(
                original,
                URL,
                "create_engine() without a URL asyncfix can see",
                "pass the URL first",
            )
            return updated
        if not (isinstance(url.value, cst.Name) and url.value.value in self._url_names):
            mapped = self._mapped_string(url.value)
            scheme, package = (
                ("sqlite+aiosqlite", "aiosqlite")
                if self._sqlite_evidence(updated)
                else self._env_scheme(url.value)
            )
            proven = self._proven_scheme(original) if mapped is None and scheme is None else None
            if proven is not None and proven[1]:  # the settings' driver is already async
                mapped = url.value
                self.require(ASYNC_DRIVERS[proven[0]])
            elif proven is not None:
                scheme, package = proven[0], ASYNC_DRIVERS[proven[0]]
            if (
                mapped is None and scheme is None and self._combined.driver
            ):  # declared: [tool.asyncfix]
                scheme, package = self._combined.driver, ASYNC_DRIVERS[self._combined.driver]
            if mapped is None and scheme is not None:
                # A URL from settings: its driver is set where it is used, at run time.
                if not self._use(
                    original, "sqlalchemy.engine", "make_url", WANTED_NAMES["make_url"]
                ):
                    return updated
                self.require(package)
                mapped = cst.parse_expression(f'make_url(x).set(drivername="{scheme}")')
                mapped = mapped.with_changes(
                    func=mapped.func.with_changes(
                        value=mapped.func.value.with_changes(args=[cst.Arg(url.value)])
                    )
                )
            if mapped is None:
                self.report(
                    original,
                    URL,
                    "the engine URL is not a literal with a known driver",
                    "make sure it names an async driver (sqlite+aiosqlite, postgresql+asyncpg, mysql+aiomysql)",
                )
                return updated
            args[args.index(url)] = url.with_changes(value=mapped)
        if not self._use(original, "sqlalchemy.ext.asyncio", "create_async_engine"):
            return updated
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return updated.with_changes(func=cst.Name("create_async_engine"), args=args)

    def _proven_scheme(self, call: cst.Call) -> Optional[Tuple[str, bool]]:
        """(async scheme, already async) when the settings that build this engine's URL fix
        its scheme (combine's answer, sqla_urls)."""
        line = self.get_metadata(PositionProvider, call).start.line
        for path, at, scheme, same in self._combined.urls:
            if path == self.file.filename and at == line:
                return scheme, same
        return None

    def _env_scheme(self, url: cst.BaseExpression) -> Tuple[Optional[str], Optional[str]]:
        """(async scheme, driver package) of a module-level ``URL = os.environ.get("X",
        "<url>")`` named by ``url``: its default names the dialect."""
        if not isinstance(url, cst.Name):
            return None, None
        for statement in self._module.body:
            if m.matches(
                statement,
                m.SimpleStatementLine(
                    body=[
                        m.Assign(targets=[m.AssignTarget(target=m.Name(url.value))], value=m.Call())
                    ]
                ),
            ):
                call = statement.body[0].value
                if (
                    self.imported_name(call.func) in ENV_GETTERS
                    and len(call.args) == 2
                    and isinstance(call.args[1].value, cst.SimpleString)
                ):
                    default = call.args[1].value.evaluated_value
                    mapped, package = _map_scheme(default if isinstance(default, str) else "")
                    if mapped is not None:
                        return mapped.partition(":")[0], package
        return None, None

    @staticmethod
    def _sqlite_evidence(call: cst.Call) -> bool:
        """``connect_args={"check_same_thread": False}``: only SQLite's driver takes it."""
        for arg in call.args:
            if (
                arg.keyword is not None
                and arg.keyword.value == "connect_args"
                and isinstance(arg.value, cst.Dict)
            ):
                for element in arg.value.elements:
                    key = getattr(element, "key", None)
                    if (
                        isinstance(key, cst.SimpleString)
                        and key.evaluated_value == "check_same_thread"
                    ):
                        return True
        return False

    def _sessionmaker(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args: List[cst.Arg] = []
        has_expire = False
        for arg in updated.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "autocommit":
                if not m.matches(arg.value, m.Name("False")):
                    self.report(
                        original,
                        DEPENDENCY,
                        "sessionmaker(autocommit=...) has no async twin",
                        "drop autocommit and use explicit transactions",
                    )
                    return updated
                continue
            if keyword == "class_":
                continue
            if keyword == "expire_on_commit":
                has_expire = True
            args.append(arg)
        if not has_expire:
            args.append(cst.Arg(keyword=cst.Name("expire_on_commit"), value=cst.Name("False")))
        if not self._use(original, "sqlalchemy.ext.asyncio", "async_sessionmaker"):
            return updated
        self.drop_import_if_unused(original.func)
        self.rewrote()
        return updated.with_changes(
            func=cst.Name("async_sessionmaker"), args=_fix_commas(args, _trailing(updated.args))
        )

    def _relationship(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        keywords = {a.keyword.value: a for a in updated.args if a.keyword is not None}
        if self.imported_name(original.func) in SQLMODEL_RELATIONSHIP:
            # SQLModel's Relationship(): SQLAlchemy's options go through sa_relationship_kwargs
            if "sa_relationship_kwargs" in keywords or "sa_relationship" in keywords:
                return updated
            self.rewrote()
            kwargs = cst.parse_expression('{"lazy": "selectin"}')
            return updated.with_changes(
                args=_fix_commas(
                    [
                        *updated.args,
                        cst.Arg(keyword=cst.Name("sa_relationship_kwargs"), value=kwargs),
                    ],
                    _trailing(updated.args),
                )
            )
        target = original.args[0].value if original.args else None
        label = cst.Module([]).code_for_node(target) if target is not None else "relationship"
        if "backref" in keywords:
            self.report(
                original,
                LAZY,
                f"the backref of relationship({label}) loads lazily",
                'declare both sides with back_populates and lazy="selectin"',
            )
        lazy = keywords.get("lazy")
        if lazy is None:
            self.rewrote()
            return updated.with_changes(
                args=_fix_commas(
                    [
                        *updated.args,
                        cst.Arg(keyword=cst.Name("lazy"), value=cst.SimpleString('"selectin"')),
                    ],
                    _trailing(updated.args),
                )
            )
        if m.matches(
            lazy.value,
            m.SimpleString('"select"')
            | m.SimpleString("'select'")
            | m.Name("True")
            | m.SimpleString('"dynamic"')
            | m.SimpleString("'dynamic'"),
        ):
            self.report(
                original,
                LAZY,
                f"relationship({label}) loads lazily, which raises MissingGreenlet under AsyncSession",
                'use lazy="selectin", selectinload() in the queries, or AsyncAttrs',
            )
        return updated
