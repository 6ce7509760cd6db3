"""Where a module that makes a FastAPI app runs its shutdown code, as the first pass records it
for the shared client (requests_hosts.py): read with libcst (emit.lifespan_site, the rule the
rewrite applies), so imported only for a module that makes an app."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from .app_tokens import APP_EVENT_TOKENS
from .emit import LifespanSite, lifespan_site
from .program_facts import ModuleFacts


def _is_app_class(module: ModuleFacts):
    def check(func: cst.BaseExpression) -> bool:
        full = get_full_name_for_node(func) or ""
        head, _, rest = full.partition(".")
        bound = module.imports.get(head)
        if not bound or bound[0]:
            return False
        return ".".join(filter(None, [bound[1], bound[2], rest])) == "fastapi.FastAPI"

    return check


def app_state(source: bytes, module: ModuleFacts) -> str:
    """ "new"/"own": where the app's shutdown code goes (a new lifespan, its own); else why
    asyncfix would not add it (requests_clients.py's rules for its in-module client)."""
    try:
        body = cst.parse_module(source).body
    except Exception:  # the rewrite reports what libcst cannot read
        return "unreadable"
    site = lifespan_site(body, _is_app_class(module))
    if isinstance(site, str):
        return "" if "no FastAPI app" in site else "wired"
    assert isinstance(site, LifespanSite)
    if site.function is not None:
        return "own"
    if any(token in source for token in APP_EVENT_TOKENS):
        return "wired"
    if module.imports.get("asynccontextmanager", (0, "contextlib", "asynccontextmanager")) != (
        0,
        "contextlib",
        "asynccontextmanager",
    ) or (b"asynccontextmanager" in source and "asynccontextmanager" not in module.imports):
        return "wired"
    return "new"
