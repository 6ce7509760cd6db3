"""Seed: "Checking Threading Conflicts" - get_event_loop() in a coroutine is the running loop."""
import asyncio
import concurrent.futures


def cpu_intensive_task():
    return sum(i * i for i in range(10**6))


async def run_task():
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor() as pool:
        result = await loop.run_in_executor(pool, cpu_intensive_task)
    return result


def sync_setup():
    # Not in a coroutine: get_event_loop() may create a loop here; left alone.
    return asyncio.get_event_loop()
