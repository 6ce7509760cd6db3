import asyncio
import functools
from concurrent.futures import ProcessPoolExecutor


@functools.cache
def process_pool() -> ProcessPoolExecutor:
    """The app's process pool (added by asyncfix): one for all its modules.

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    The app's lifespan shuts it down; a use after that makes a new one.
    """
    return ProcessPoolExecutor()


async def close_process_pool() -> None:
    """Shuts the app's process pool down (the app's lifespan calls this)."""
    if process_pool.cache_info().currsize:
        await asyncio.to_thread(process_pool().shutdown)
        process_pool.cache_clear()


def histogram(seed: int) -> list:
    buckets = [0] * 10
    for i in range(500_000):
        buckets[(i * seed) % 10] += 1
    return buckets


async def summary(seed: int) -> dict:
    counts = await asyncio.get_running_loop().run_in_executor(
        process_pool(), histogram, seed
    )
    return {"seed": seed, "max": max(counts)}
