"""Coroutines handed to something that takes awaitables, or kept and awaited: no await added."""
import asyncio


async def job(n):
    await asyncio.sleep(0)
    return n


async def ticker():
    yield 1


def factory(n):
    return job(n)  # a sync coroutine factory: its callers await the result


async def main():
    task = asyncio.create_task(job(1))
    results = await asyncio.gather(job(2), *[job(i) for i in range(3)])
    done, _ = await asyncio.wait([asyncio.ensure_future(job(3))])
    value = await asyncio.wait_for(job(4), timeout=1)
    shielded = await asyncio.shield(job(5))
    later = job(6)
    await later
    pending = [job(7), job(8)]
    await asyncio.gather(*pending)
    async with asyncio.TaskGroup() as group:
        group.create_task(job(9))
    made = await factory(10)
    async for tick in ticker():
        print(tick)
    return task, results, done, value, shielded, made


if __name__ == "__main__":
    asyncio.run(main())


async def collected(ids):
    coros = []
    for i in ids:
        c = job(i)  # kept and passed on: awaited by the gather below, not here
        coros.append(c)
    return await asyncio.gather(*coros)


async def run_to_completion(awaitable):
    return await awaitable


async def close_all():
    return await run_to_completion(job(11))  # the wrapper takes the coroutine itself
