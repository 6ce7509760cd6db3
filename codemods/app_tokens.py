"""The tokens that say a module wires an app's startup/shutdown: the first pass reads them in a
file's bytes (prefilter.py's seeds, the CPU and requests facts), emit.py's lifespans respect
them. No libcst here: the first pass imports it."""

from __future__ import annotations

# Where an app's startup/shutdown may already be wired (FastAPI's `lifespan=`, the older
# `on_startup`/`on_shutdown`/`@app.on_event`, Starlette's `add_event_handler`/`lifespan_context`):
# Starlette runs a `lifespan` *instead of* the event handlers, so a project that mentions any of
# these anywhere gets no new lifespan (closure or nothing).
APP_EVENT_TOKENS = (b"lifespan", b"on_event", b"on_startup", b"on_shutdown", b"add_event_handler")
# The same, in the forms user code wires an app from another module (``@app.on_event(...)``,
# ``app.add_event_handler(...)``, ``app.router.lifespan_context = ...``): whole-program seed tokens
# of the first pass (prefilter.SEED_TOKENS), narrow enough that a library defining these APIs
# is not a seed.
APP_WIRING_SEEDS = (
    b".on_event(",
    b"add_event_handler(",
    b"on_startup=",
    b"on_shutdown=",
    b"router.lifespan_context",
    b"router.on_startup",
    b"router.on_shutdown",
)
