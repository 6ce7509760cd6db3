import asyncio
import time


async def timed(delay):
    start = time.perf_counter()
    await asyncio.sleep(delay)
    await asyncio.sleep(0)
    return time.perf_counter() - start
