import asyncio
import os
from os import waitpid


async def ask(prompt):
    name = await asyncio.get_running_loop().run_in_executor(None, input, prompt)
    await asyncio.get_running_loop().run_in_executor(None, input)
    return name.strip()


async def reap(pid):
    _, status = await asyncio.get_running_loop().run_in_executor(None, waitpid, pid, 0)
    any_child = await asyncio.get_running_loop().run_in_executor(None, os.wait)
    return os.waitstatus_to_exitcode(status), any_child
