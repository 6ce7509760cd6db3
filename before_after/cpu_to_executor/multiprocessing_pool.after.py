"""Seed: "Solution 3: Offload CPU-Intensive Tasks to Workers" - a Pool per request still blocks."""
import asyncio
import functools
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool


@functools.cache
def _cpu_bound_executor() -> ProcessPoolExecutor:
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    """
    return ProcessPoolExecutor()


def compute_task():
    return sum(i * i for i in range(10**6))


def square(x):
    return x * x


def scale(x, factor=1):
    return x * factor


async def async_compute():
    result = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), compute_task
    )
    return result


async def squares(numbers: list):
    # Two uses of the pool, both rewritten: the `with` goes.
    first = await asyncio.to_thread(list, _cpu_bound_executor().map(square, numbers))
    second = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), functools.partial(scale, 3, factor=2)
    )
    return first, second


async def direct(numbers: list):
    return await asyncio.to_thread(
        list, _cpu_bound_executor().map(square, numbers, chunksize=4)
    )


async def not_rewritten(numbers: list):
    with Pool() as pool:
        pending = pool.apply_async(square, (2,))
        return pending.get(), pool.starmap(scale, [(1, 2)])
