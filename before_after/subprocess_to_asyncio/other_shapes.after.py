import asyncio
import os
import subprocess


async def odd_arguments(cmd, options):
    await asyncio.to_thread(subprocess.run, cmd, bufsize=1)
    await asyncio.to_thread(subprocess.run, cmd, **options)
    await asyncio.to_thread(subprocess.check_output, cmd, input=options.get("stdin"))
    code = await asyncio.to_thread(os.system, "true")
    return (
        await asyncio.to_thread(subprocess.getoutput, "uname"),
        code,
        await asyncio.to_thread(os.spawnlp, os.P_WAIT, "true", "true"),
    )
