import os
from pathlib import Path


def read(p: Path, name):
    with open(name) as f:
        data = f.read()
    return data, p.read_text(), os.path.exists(name)


async def outer(name):
    def inner():
        with open(name) as f:
            return f.read()

    return inner, lambda: os.path.exists(name)
