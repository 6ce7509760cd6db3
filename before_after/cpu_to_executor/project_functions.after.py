"""Project functions whose bodies show heavy work, and the marker comment."""
import hashlib
import asyncio
import functools
from concurrent.futures import ProcessPoolExecutor


@functools.lru_cache(maxsize=None)
def _cpu_bound_executor():
    """The process pool for this module's CPU-bound calls (added by asyncfix).

    Created once, on first use: importing the module starts no process and leaves the
    multiprocessing start method alone, so it also imports cleanly in a spawned worker.
    """
    return ProcessPoolExecutor()


GRID = 1000


def pairwise_distance(points: list, others: list):
    # Two independent loops over data: O(n*m).
    return [abs(a - b) for a in points for b in others]


def grid_sum():
    # Nested constant ranges multiply: 1000 * 1000 iterations.
    total = 0
    for x in range(GRID):
        for y in range(GRID):
            total += x * y
    return total


def report(points: list):
    # Heavy through another project function.
    return max(pairwise_distance(points, points))


def derive_key(secret: bytes):
    # Heavy only through a GIL-releasing call: the thread pool is enough.
    return hashlib.pbkdf2_hmac("sha256", secret, b"salt", 200_000)


# asyncfix: cpu-bound
def solve(board: list):
    return sorted(board)


async def route(points: list, secret: str, board: list):
    distances = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(),
        functools.partial(pairwise_distance, points, others=points),
    )
    total = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), grid_sum
    )
    worst = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), report, points
    )
    key = await asyncio.get_running_loop().run_in_executor(
        None, derive_key, secret.encode()
    )
    solution = await asyncio.get_running_loop().run_in_executor(
        _cpu_bound_executor(), solve, board
    )
    return distances, total, worst, key, solution
