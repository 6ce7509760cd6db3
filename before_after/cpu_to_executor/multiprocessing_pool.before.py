"""Seed: "Solution 3: Offload CPU-Intensive Tasks to Workers" - a Pool per request still blocks."""
import multiprocessing
from multiprocessing import Pool


def compute_task():
    return sum(i * i for i in range(10**6))


def square(x):
    return x * x


def scale(x, factor=1):
    return x * factor


async def async_compute():
    with Pool() as pool:
        result = pool.apply(compute_task)
    return result


async def squares(numbers: list):
    # Two uses of the pool, both rewritten: the `with` goes.
    with Pool(processes=2) as pool:
        first = pool.map(square, numbers)
        second = pool.apply(scale, (3,), {"factor": 2})
    return first, second


async def direct(numbers: list):
    return multiprocessing.Pool().map(square, numbers, 4)


async def not_rewritten(numbers: list):
    with Pool() as pool:
        pending = pool.apply_async(square, (2,))
        return pending.get(), pool.starmap(scale, [(1, 2)])
