import os
from pathlib import Path


async def kept_open(name):
    f = open(name)
    return f


async def calls_other_code(name, parse):
    with open(name) as f:
        data = parse(f.read())
    return data


async def handle_used_after(name):
    with open(name) as f:
        data = f.read()
    return data, f.closed


async def lazy(p: Path):
    names = [child.name for child in p.iterdir()]
    return names, os.path.normpath("a/../b")


async def in_generator(names):
    return sum(os.path.getsize(n) for n in names)
