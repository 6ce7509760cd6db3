import asyncio


async def f(console, input, pid):
    console.input("? ")
    input("? ")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, console.wait, pid)
