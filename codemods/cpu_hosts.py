"""One process pool per app across its modules: which module holds it (cpu_to_executor).

cpu_to_executor gives a module that sends CPU-bound work to a process pool a pool of its own,
``_cpu_bound_executor()``; in the module that makes the FastAPI app, the app's lifespan shuts
it down. A module the app imports that offloads CPU work too would get a second pool (more
worker processes, each holding its own memory) that nobody shuts down. Over the whole program
(``CpuToExecutor.analyse``, after the await analysis), this module decides, per app, with the
policy the HTTP client follows (app_graph.assign_hosts):

* the *users*: modules with a coroutine (or a function the await analysis makes async) that
  calls something the rewrite sends to a process pool: a project function proven CPU-bound,
  pure Python and picklable by reference, a declared one, ``multiprocessing.Pool``. This is a
  superset of what the rewrite does (it also needs each argument to be plain data): a user
  whose calls all end up on the thread pool imports nothing, and the host defines the pool
  whatever its own calls became, so an import asyncfix adds always has its name;
* the *host*: a module that already holds the pool from an earlier run, else one of the users
  other than the app module that imports none of the other users nor the app module, with the
  names the pool needs free; it defines ``process_pool()`` and ``close_process_pool()``;
* the users import ``process_pool`` from the host; the app's lifespan (the one the client
  closes in, when there is one) awaits ``close_process_pool()``.

Public names, as the client's ``http_client()``/``close_http_client()``: other modules import
them, and a leading underscore would say they must not. A module left out of the sharing (two
apps import it, a cycle, an app whose startup/shutdown asyncfix does not extend) keeps a pool
of its own, a comment above it says why. An app whose only user is the app module itself keeps
the in-module form.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional

from .app_graph import Role, app_module_state, assign_hosts
from .astwalk import binds_any, may_name
from .cpu_facts import KNOWN_HEAVY, PROCESS, THREAD
from .cpu_proof import CpuFacts
from .program_facts import ModuleFacts, Program
from .resolve import module_names

POOL_HOSTS_KEY = "cpu_to_executor.hosts"  # ProjectIndex.facts: path -> Role (app_graph)
POOL_NAME = "process_pool"
CLOSE_POOL_NAME = "close_process_pool"
POOL_CLASSES = frozenset({"multiprocessing.Pool", "multiprocessing.pool.Pool"})

# Above a pool of the module's own, why it is not the app's (as for the client's comments).
TWO_APPS_POOL = (
    "# A pool of this module's own: two apps import it; neither shuts a shared one down."
)
WIRED_POOL = (
    "# A pool of this module's own: asyncfix does not extend how this app starts and stops."
)
CYCLE_POOL = "# A pool of this module's own: sharing the app's would make an import cycle."
TAKEN_POOL = "# A pool of this module's own: `process_pool` names something else here."


@dataclass(frozen=True)
class PoolFacts:
    """What one file says about the app's shared process pool (the first pass)."""

    app: str = ""  # app_graph.app_state: "" no app; "new"/"own" lifespan; else why not
    closes: bool = False  # imports close_process_pool (an earlier run wired it)
    hosts: bool = False  # defines process_pool and close_process_pool
    free: bool = False  # could host: the names the pool needs are free


def collect(tree: ast.Module, source: bytes, module: ModuleFacts) -> Optional[PoolFacts]:
    app = app_module_state(tree, source, module)
    hosts = POOL_NAME in module.defs and CLOSE_POOL_NAME in module.defs
    closes = CLOSE_POOL_NAME in module.imports
    needed = ("asyncio", "functools")
    free = (
        not any(name.encode() in source for name in (POOL_NAME, CLOSE_POOL_NAME))
        and all(module.imports.get(name, (0, name, "")) == (0, name, "") for name in needed)
        and not binds_any(tree, [name for name in needed if may_name(source, name)])
    )
    bound = module.imports.get("ProcessPoolExecutor")
    if bound is not None and bound != (0, "concurrent.futures", "ProcessPoolExecutor"):
        free = False
    elif bound is None and b"ProcessPoolExecutor" in source:
        free = False
    if not (app or hosts or closes or free):
        return None
    return PoolFacts(app=app, closes=closes, hosts=hosts, free=free)


def _offloads(program: Program, cpu: CpuFacts, path: str, call, configured: FrozenSet[str]) -> bool:
    """Whether the rewrite may send this call (in a coroutine) to a process pool."""
    mode = program.options.get("cpu_executor", "auto")
    target = program.resolver.call(path, call.owner, call.target, call.instance_of)
    if isinstance(target, tuple) and len(target) == 2 and target[0] != "class":
        where, qualname = target
        callee = cpu.local.get(where, {}).get(qualname)
        declared = any(
            f"{name}.{qualname}" in configured for name in module_names(where, program.root)
        )
        if callee is None or not (callee.heavy or declared):
            return False
        return callee.process_safe and (callee.holds_gil or mode == PROCESS)
    full = program.resolver.qualify(path, call.owner, call.target, call.instance_of)
    if full in POOL_CLASSES:
        return True  # Pool.apply/map go to the process pool (cpu_pool.py)
    # A library function: the table's all release the GIL; a declared one holds it only by
    # the option (cpu_executor.py's _callee).
    return mode == PROCESS and (full in KNOWN_HEAVY or full in configured)


def pool_users(program: Program, cpu: CpuFacts) -> List[str]:
    """The modules whose coroutines may send work to a process pool (a superset: the module
    docstring)."""
    if program.options.get("cpu_executor", "auto") == THREAD or program.resolver is None:
        return []
    configured = frozenset(program.options.get("cpu_bound", ()))
    users = []
    for path, module in sorted(program.modules.items()):
        actions = program.actions.get(path)
        made = actions.make_async if actions is not None else frozenset()
        coroutines = {
            qualname
            for qualname, found in module.defs.items()
            if found.is_async or (found.line, found.name) in made
        }
        if any(
            call.owner in coroutines and _offloads(program, cpu, path, call, configured)
            for call in module.calls
        ):
            users.append(path)
    return users


def decide(program: Program, facts: Dict[str, PoolFacts]) -> Dict[str, Role]:
    """path -> its role in its app's shared process pool; paths without one keep the
    per-module pool."""
    cpu = program.facts.get("cpu_to_executor")
    if not isinstance(cpu, CpuFacts) or not any(found.app for found in facts.values()):
        return {}  # no app: nothing to share (and no call to resolve)
    return assign_hosts(
        program,
        pool_users(program, cpu),
        {path: found.app for path, found in facts.items()},
        existing=[path for path, found in facts.items() if found.hosts],
        free=[path for path, found in facts.items() if found.free],
        closes=[path for path, found in facts.items() if found.closes],
        comments=(TWO_APPS_POOL, WIRED_POOL, CYCLE_POOL),
    )
