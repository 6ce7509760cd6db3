"""The process pool cpu_to_executor's offloads run on: ``_cpu_bound_executor()``, added once per
module, created on first use; where the module makes the FastAPI app, the app's lifespan shuts it
down. A mixin of :class:`~.cpu_to_executor.CpuToExecutor`.
"""

from __future__ import annotations

import textwrap
from typing import Optional, Tuple

import libcst as cst
import libcst.matchers as m

from .cpu_facts import HELPER
from .emit import (
    APP_EVENT_TOKENS,
    LIFESPAN,
    LifespanSite,
    close_with_app,
    insert_helper,
    lifespan_site,
)


class SharedPool:
    """The module's process pool (see the module docstring)."""

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
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
            "@functools.lru_cache(maxsize=None)\n"
            f"def {HELPER}():\n"
            '    """The process pool for this module\'s CPU-bound calls (added by asyncfix).\n'
            "\n"
            "    Created once, on first use: importing the module starts no process and leaves the\n"
            "    multiprocessing start method alone, so it also imports cleanly in a spawned worker.\n"
            f"{closing}"
            '    """\n'
            "    return ProcessPoolExecutor()\n"
        )
        body = list(updated.body)
        if app is not None:
            self.add_needed_import("asyncio")
            if app.function is None:
                self.add_needed_import("contextlib", "asynccontextmanager")
            shutdown = [
                cst.parse_statement(f"await asyncio.to_thread({HELPER}().shutdown)\n"),
                cst.parse_statement(f"{HELPER}.cache_clear()\n"),
            ]
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
