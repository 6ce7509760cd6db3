import asyncio


async def first_line(name):
    return (await asyncio.to_thread(lambda: open(name).readline())).strip()


async def all_text(names):
    return [
        await asyncio.to_thread(lambda: open(n, encoding="utf-8").read()) for n in names
    ]
