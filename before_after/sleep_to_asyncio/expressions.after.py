import asyncio
import contextlib


async def everywhere(items, lock):
    results = [await asyncio.sleep(0) for _ in items]
    lookup = {item: await asyncio.sleep(0) for item in items}
    flag = await asyncio.sleep(0) is None
    value = await asyncio.sleep(0) or "fallback"
    with lock:
        await asyncio.sleep(0.01)
    try:
        await asyncio.sleep(0.01)
    except Exception:
        await asyncio.sleep(0.01)
    finally:
        await asyncio.sleep(0.01)
    print("slept", await asyncio.sleep(0))
    await asyncio.sleep(0)
    return results, lookup, flag, value, repr(await asyncio.sleep(0)).upper()


async def ticks(n):
    for i in range(n):
        await asyncio.sleep(0.01)
        yield i


class Worker:
    async def run(self):
        await asyncio.sleep(0.5)

    @contextlib.asynccontextmanager
    async def session(self):
        await asyncio.sleep(0.1)
        yield self
