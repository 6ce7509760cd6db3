"""The other subprocess conveniences and os.system."""
import asyncio
import os
from subprocess import call, check_call, check_output


async def status(cmd):
    return await asyncio.to_thread(call, cmd, shell=True)


async def deploy(path):
    await asyncio.to_thread(check_call, ["git", "pull"], cwd=path)
    output = await asyncio.to_thread(
        check_output, ["git", "rev-parse", "HEAD"], cwd=path, text=True
    )
    return output.strip()


async def notify(message):
    await asyncio.to_thread(os.system, f"echo {message}")
