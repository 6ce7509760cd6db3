import os


async def f(pid, asyncio):
    os.waitpid(pid, 0)
    return list(input() for _ in range(2))
