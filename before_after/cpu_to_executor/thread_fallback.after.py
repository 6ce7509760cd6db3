"""Pure-Python work that cannot be shown to pickle runs in the thread pool, and is reported."""
import asyncio

RESULTS = {}


def crunch(data):
    return sum(i * i for i in range(10**6)) + len(data)


def remember(key):
    RESULTS[key] = sum(range(10**6))
    return RESULTS[key]


async def route(request, data: list):
    # `request` has no plain type: it may not pickle.
    a = await asyncio.to_thread(crunch, request)
    # Mutates module state, which another process would not share.
    b = await asyncio.to_thread(remember, "x")
    # In a generator expression `await` is impossible: reported, left alone.
    c = sum(crunch(x) for x in data)
    return a, b, c
