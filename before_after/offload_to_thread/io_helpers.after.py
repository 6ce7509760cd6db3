"""Heavy-looking functions that do I/O are not CPU-bound: never sent to a process pool, not
reported by cpu_to_executor (offload_to_thread moves the blocking ones to a thread)."""
import asyncio
import logging
import os

logger = logging.getLogger(__name__)


def load_all(paths):
    return [open(path).read() for path in paths for _ in range(10**6)]


def log_progress():
    for i in range(10**6):
        logger.info("step %d", i)


def scan_tree(root):
    return sum(len(files) for _, _, files in os.walk(root) for _ in range(10**6))


def slow_query(db):
    rows = db.execute("SELECT 1")
    return [row for row in rows for _ in range(10**6)]


async def route(paths, db):
    return (
        await asyncio.to_thread(load_all, paths),
        log_progress(),
        await asyncio.to_thread(scan_tree, "."),
        slow_query(db),
    )
