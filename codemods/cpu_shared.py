"""The process pool cpu_to_executor's offloads run on: ``_cpu_bound_executor()``, added once per
module, created on first use; where the module makes the FastAPI app, the app's lifespan shuts it
down. When other modules of the app offload too, the app's one pool lives in one of them
instead (cpu_hosts.py decides which over the whole program; :meth:`SharedPool._plan_pool`
applies its decision to a file)::

    @functools.cache
    def process_pool() -> ProcessPoolExecutor: ...      # the host
    async def close_process_pool() -> None: ...          # the host; the app's lifespan awaits it
    from app.services import process_pool                # every other module that offloads

A mixin of :class:`~.cpu_to_executor.CpuToExecutor`.
"""

from __future__ import annotations

import textwrap
from typing import Optional, Tuple

import libcst as cst
import libcst.helpers
import libcst.matchers as m

from . import app_graph
from .app_graph import APP, HOST, PER_CALL, USER
from .app_tokens import APP_EVENT_TOKENS
from .cpu_facts import HELPER, PROCESS
from .cpu_hosts import CLOSE_POOL_NAME, POOL_HOSTS_KEY, POOL_NAME, TAKEN_POOL
from .emit import LIFESPAN, LifespanSite, close_with_app, insert_helper, lifespan_site


def _shutdown(pool: str) -> str:
    """Shuts the pool ``pool()`` returns down, and only if a call made it: shutting down starts
    nothing, and a later call makes a new one."""
    return (
        f"if {pool}.cache_info().currsize:\n"
        f"    await asyncio.to_thread({pool}().shutdown)\n"
        f"    {pool}.cache_clear()\n"
    )


class SharedPool:
    """The module's process pool (see the module docstring)."""

    def _plan_pool(self, scope) -> None:
        """The module's part in its pool (cpu_hosts.py's role, else a pool of its own):
        ``pool_name`` the function offloads call, ``helper_exists`` nothing to define here,
        ``helper_blocked`` no process pool in this module."""
        role = app_graph.role(self.file.project, POOL_HOSTS_KEY, self.file.filename)
        self.pool_name = HELPER
        self.pool_host = False  # defines process_pool() and close_process_pool()
        self.pool_import: Optional[str] = None  # the module process_pool comes from
        self.pool_close_import: Optional[str] = None  # ... and close_process_pool
        self.pool_comment = role[1] if role is not None and role[0] == PER_CALL else ""
        if role is not None and role[0] == HOST:
            self.pool_name, self.pool_host = POOL_NAME, True
            self.file.needs.update(role[1])  # its users: written with it or not at all
        elif role is not None and role[0] in (USER, APP):
            if role[0] == APP and not role[2]:
                self.pool_close_import = role[1]
            if all(  # unbound, or imported from the host by an earlier run
                isinstance(a.node, cst.ImportFrom)
                and not a.node.relative
                and a.node.module is not None
                and cst.helpers.get_full_name_for_node(a.node.module) == role[1]
                for a in scope[POOL_NAME]
            ):
                self.pool_name, self.pool_import = POOL_NAME, role[1]
            else:
                self.pool_comment = TAKEN_POOL
        # The helper is reused when a module-level def has its name (a second run), or comes
        # from the host; anything else bound to that name blocks the process pool here.
        bound = [a.node for a in scope[self.pool_name]]
        self.helper_exists = self.pool_import is not None or any(
            isinstance(b, cst.FunctionDef) for b in bound
        )
        self.helper_blocked = self.pool_import is None and any(
            not isinstance(b, cst.FunctionDef) for b in bound
        )

    def _executor_expr(self, kind: str) -> cst.BaseExpression:
        if kind == PROCESS:
            self.need_helper = True
            return cst.Call(func=cst.Name(self.pool_name))
        return cst.Name("None")

    def _pool_class_is_free(self) -> bool:
        """``ProcessPoolExecutor`` at module level is unbound or ``concurrent.futures``'."""
        for assignment in self.module_scope["ProcessPoolExecutor"]:
            statement = assignment.node
            if not (
                isinstance(statement, cst.ImportFrom)
                and statement.module is not None
                and not statement.relative
                and cst.helpers.get_full_name_for_node(statement.module) == "concurrent.futures"
            ):
                return False
        return True

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if self.pool_close_import is not None:
            updated = self._close_shared_pool(original, updated)
        if self.need_helper and self.pool_import is not None:
            self.add_needed_import(self.pool_import, POOL_NAME)
        if self.pool_host and not self.helper_exists:
            return self._add_shared_pool(updated)
        if not self.need_helper or self.helper_exists:
            return updated
        self.add_needed_import("functools")
        # Imported with the module (the import is the slow part of a first use), but the pool
        # itself is created on first use.
        self.add_needed_import("concurrent.futures", "ProcessPoolExecutor")
        app, why_not = self._app_for_pool(original)
        closing = ""
        if app is not None:
            closing = "\n    The app's lifespan shuts it down at exit; a use after that makes a new one.\n"
        elif why_not:
            closing = (
                "\n"
                + textwrap.fill(
                    f"Not shut down with the app ({why_not}): it lives as long as the process.",
                    width=96,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
                + "\n"
            )
        helper = cst.parse_statement(
            "@functools.cache\n"
            f"def {HELPER}() -> ProcessPoolExecutor:\n"
            '    """The process pool for this module\'s CPU-bound calls (added by asyncfix).\n'
            "\n"
            "    Created once, on first use: importing the module starts no process and leaves the\n"
            "    multiprocessing start method alone, so it also imports cleanly in a spawned worker.\n"
            f"{closing}"
            '    """\n'
            "    return ProcessPoolExecutor()\n"
        )
        if self.pool_comment:
            helper = helper.with_changes(
                leading_lines=[cst.EmptyLine(comment=cst.Comment(self.pool_comment))]
            )
        body = list(updated.body)
        if app is not None:
            self.add_needed_import("asyncio")
            if app.function is None:
                self.add_needed_import("contextlib", "asynccontextmanager")
            shutdown = [cst.parse_statement(_shutdown(HELPER))]
            close_with_app(body, app, shutdown)
        insert_helper(body, helper)
        return updated.with_changes(body=body)

    def _app_for_pool(self, module: cst.Module) -> Tuple[Optional[LifespanSite], str]:
        """Where the pool is shut down: (this module's FastAPI app's lifespan, "") when its
        own lifespan shows where its shutdown runs, or one can be added (closure: nothing in the
        project wires startup/shutdown already); else (None, why not), the reason empty when the
        module makes no app. Without a lifespan the pool lives as long as the process."""
        is_app = lambda func: self.imported_name(func) == "fastapi.FastAPI"  # noqa: E731
        makes_app = any(
            is_app(call.func)
            for statement in module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for call in m.findall(statement, m.Call())
        )
        if not makes_app:
            return None, ""
        # (No word of APP_EVENT_TOKENS in these: they end up in the code, read by later runs.)
        wired = "the app wires its own startup/shutdown, which asyncfix leaves as it is"
        site = lifespan_site(module.body, is_app)
        if isinstance(site, str):
            return None, f"{wired}, or there is more than one app"
        scope = self.module_scope
        if not all(isinstance(a.node, cst.Import) for a in scope["asyncio"]):
            return None, "a name the shutdown hook needs is taken in this module"
        if site.function is not None:
            return site, ""  # the app's own lifespan (or the one requests_to_httpx added)
        facts = self.facts
        if (facts is not None and facts.app_events) or any(
            token in self.file.source.encode() for token in APP_EVENT_TOKENS
        ):
            return None, wired
        if scope[LIFESPAN] or not all(
            isinstance(a.node, cst.ImportFrom) and m.matches(a.node.module, m.Name("contextlib"))
            for a in scope["asynccontextmanager"]
        ):
            return None, "a name the shutdown hook needs is taken in this module"
        return site, ""

    def _add_shared_pool(self, updated: cst.Module) -> cst.Module:
        """The app's pool, in the module that hosts it, and the function its lifespan awaits."""
        for module in ("asyncio", "functools"):
            self.add_needed_import(module)
        self.add_needed_import("concurrent.futures", "ProcessPoolExecutor")
        body = list(updated.body)
        insert_helper(
            body,
            cst.parse_statement(
                f"async def {CLOSE_POOL_NAME}() -> None:\n"
                '    """Shuts the app\'s process pool down (the app\'s lifespan calls this)."""\n'
                + textwrap.indent(_shutdown(POOL_NAME), "    ")
            ),
        )
        insert_helper(
            body,
            cst.parse_statement(
                "@functools.cache\n"
                f"def {POOL_NAME}() -> ProcessPoolExecutor:\n"
                '    """The app\'s process pool (added by asyncfix): one for all its modules.\n'
                "\n"
                "    Created once, on first use: importing the module starts no process and leaves the\n"
                "    multiprocessing start method alone, so it also imports cleanly in a spawned worker.\n"
                "    The app's lifespan shuts it down; a use after that makes a new one.\n"
                '    """\n'
                "    return ProcessPoolExecutor()\n"
            ),
        )
        return updated.with_changes(body=body)

    def _close_shared_pool(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        """The app module: its lifespan (its own, the one the client's close went into, or a
        new one) awaits the host's ``close_process_pool()``."""
        is_app = lambda func: self.imported_name(func) == "fastapi.FastAPI"  # noqa: E731
        # Read on the original (libcst's scopes know its nodes); the body's indexes are the same.
        site = lifespan_site(original.body, is_app)
        body = list(updated.body)
        if isinstance(site, str):  # cpu_hosts.py saw a lifespan to extend: not here any more
            return updated
        module = self.pool_close_import
        assert module is not None
        self.add_needed_import(module, CLOSE_POOL_NAME)
        if site.function is None:
            self.add_needed_import("contextlib", "asynccontextmanager")
        close_with_app(body, site, [cst.parse_statement(f"await {CLOSE_POOL_NAME}()\n")])
        return updated.with_changes(body=body)
