import asyncio
import functools
from concurrent.futures import ProcessPoolExecutor


# A pool of this module's own: two apps import it; neither shuts a shared one down.
@functools.cache
def _cpu_bound_executor() -> ProcessPoolExecutor:
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    """
    return ProcessPoolExecutor()


def variance(n: int) -> float:
    values = [(i * n) % 97 for i in range(200_000)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


async def spread(n: int) -> float:
    return await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), variance, n
    )
