# asyncfix's own fixture for ruff's ASYNC230 (open) and ASYNC240 (os.path / pathlib.Path).
import io
import json
import os.path
import pathlib
from os import path as ospath
from pathlib import Path


async def files(name, payload):
    with open(name) as f:
        data = f.read()
    with io.open(name, "w") as f2:
        json.dump(payload, f2)
    text = open(name).read()
    kept = open(name)
    with open(name) as f3:
        other = transform(f3.read())
    return data, text, kept, other


async def paths(name, p: Path, q: pathlib.Path):
    p.read_text()
    q.write_bytes(b"")
    Path(name).exists()
    r = Path(name)
    r.is_dir()
    os.path.exists(name)
    ospath.isfile(name)
    os.path.getsize(name)
    os.path.abspath(name)
    os.path.normpath(name)
    os.path.join(name, "x")
    for child in p.iterdir():
        pass
    return sum(os.path.getsize(n) for n in name)


def sync(name, p: Path):
    open(name).read()
    p.read_text()
    os.path.exists(name)
