"""Worker processes: ``map`` over a process pool, each worker given the run's settings (and,
for the rewrite, the project index) once, at start-up."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Iterator, Sequence, Tuple

from . import resolve
from .program_facts import ProjectIndex
from .results import Settings

# Worker processes get the run's settings (and, for the rewrite, the project index) once, at
# start-up; read-only for the life of the process.
worker_args: Tuple[Settings, ProjectIndex] = (Settings(codemods=()), ProjectIndex())


def init_worker(settings: Settings, project: ProjectIndex) -> None:
    global worker_args
    worker_args = (settings, project)
    resolve.configure(settings.root, settings.options.get("roots", ()))


def parallel_map(
    function, items: Sequence, jobs: int, initargs: tuple = (), chunked: bool = True
) -> Iterator:
    """``map`` over worker processes, results in the order of ``items``. ``chunked=False``
    hands out one item at a time: for work whose cost is concentrated in a few items."""
    if jobs <= 1 or len(items) <= 1:
        if initargs:
            init_worker(*initargs)
        yield from map(function, items)
        return
    chunksize = max(1, min(64, len(items) // (jobs * 8))) if chunked else 1
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=init_worker if initargs else None, initargs=initargs
    )
    try:
        yield from pool.map(function, items, chunksize=chunksize)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
