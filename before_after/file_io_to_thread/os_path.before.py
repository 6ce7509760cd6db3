import os
import os.path as osp
from os import path
from os.path import exists as present


async def describe(name):
    if not os.path.exists(name):
        return None
    return {
        "file": path.isfile(name),
        "dir": osp.isdir(name),
        "size": os.path.getsize(name) + 0,
        "real": os.path.realpath(name),
        "there": present(name),
        "joined": os.path.join(name, "x"),
    }
