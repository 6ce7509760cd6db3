import asyncio
import subprocess


async def run(cmd):
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    legacy = await asyncio.to_thread(subprocess.run, cmd)
    return out, legacy
