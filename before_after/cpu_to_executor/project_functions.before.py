"""Project functions whose bodies show heavy work, and the marker comment."""
import hashlib

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
    distances = pairwise_distance(points, others=points)
    total = grid_sum()
    worst = report(points)
    key = derive_key(secret.encode())
    solution = solve(board)
    return distances, total, worst, key, solution
