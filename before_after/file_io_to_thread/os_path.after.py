import asyncio
import os
import os.path as osp
from os import path
from os.path import exists as present


async def describe(name):
    if not await asyncio.to_thread(os.path.exists, name):
        return None
    return {
        "file": await asyncio.to_thread(path.isfile, name),
        "dir": await asyncio.to_thread(osp.isdir, name),
        "size": await asyncio.to_thread(os.path.getsize, name) + 0,
        "real": await asyncio.to_thread(os.path.realpath, name),
        "there": await asyncio.to_thread(present, name),
        "joined": os.path.join(name, "x"),
    }
