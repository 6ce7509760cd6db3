import asyncio
import os
from os import waitpid


async def ask(prompt):
    name = await asyncio.to_thread(input, prompt)
    await asyncio.to_thread(input)
    return name.strip()


async def reap(pid, flags):
    _, status = await asyncio.to_thread(waitpid, pid, 0)
    any_child = await asyncio.to_thread(os.wait)
    # Every argument form passes through unchanged.
    await asyncio.to_thread(os.waitpid, pid, *flags)
    return os.waitstatus_to_exitcode(status), any_child
