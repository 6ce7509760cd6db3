"""Project functions: rewritten only on proof (a constant cost, the table, the marker); data-
sized evidence or a call that may block is reported (CPU004), never rewritten."""
import asyncio
import functools
import hashlib
from concurrent.futures import ProcessPoolExecutor

import numpy as np


@functools.cache
def _cpu_bound_executor() -> ProcessPoolExecutor:
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    """
    return ProcessPoolExecutor()


GRID = 1000


def grid_sum():
    # Proof: nested constant ranges multiply, 1000 * 1000 iterations, and no call that blocks.
    total = 0
    for x in range(GRID):
        for y in range(GRID):
            total += x * y
    return total


def derive_key(secret: bytes):
    # Proof: a table call (key stretching); it releases the GIL, so the thread pool is enough.
    return hashlib.pbkdf2_hmac("sha256", secret, b"salt", 200_000)


# asyncfix: cpu-bound
def solve(board: list):
    # Proof: the user's declaration.
    return sorted(board)


def pairwise_distance(points: list, others: list):
    # Two independent loops over data: O(n*m), heavy only if the data is large, which nothing
    # here says. Reported, not rewritten.
    return [abs(a - b) for a in points for b in others]


def report(points: list):
    # Looks heavy only through another project function: reported too.
    return max(pairwise_distance(points, points))


def smooth(values: list):
    # A constant cost, but next to a library call asyncfix cannot see into: reported.
    return [np.mean(values) for _ in range(10**6)]


async def route(points: list, secret: str, board: list):
    total = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), grid_sum
    )
    key = await asyncio.to_thread(derive_key, secret.encode())
    solution = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), solve, board
    )
    distances = pairwise_distance(points, others=points)
    worst = report(points)
    smoothed = smooth(points)
    return total, key, solution, distances, worst, smoothed
