import asyncio


async def poll(ticks):
    for _ in range(ticks):
        await asyncio.sleep(0.1)
    return ticks
