import asyncio
import subprocess


async def build(path):
    result = await asyncio.to_thread(
        subprocess.run, ["make", "-C", path], capture_output=True, text=True, check=True
    )
    return result.stdout


async def quiet(cmd, env):
    result = await asyncio.to_thread(
        subprocess.run, cmd, shell=True, env=env, timeout=30
    )
    return result.returncode


async def feed(data):
    await asyncio.to_thread(
        subprocess.run, ["cat"], input=data, stdout=subprocess.DEVNULL
    )
