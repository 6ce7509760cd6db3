import asyncio
from time import monotonic, sleep as snooze


def backoff(attempt):
    snooze(2**attempt)  # sync: runs in a thread, stays


async def retry(call, attempts=3):
    started = monotonic()
    for attempt in range(attempts):
        try:
            return await call()
        except ConnectionError:
            await asyncio.sleep(2**attempt)
    raise TimeoutError(monotonic() - started)
