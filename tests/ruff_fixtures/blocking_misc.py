"""Blocking calls no rewrite family covers: asyncfix must still name every line ruff flags."""
import io
import subprocess
import urllib.request
from pathlib import Path

import httpx
import urllib3


async def typed_client(client: httpx.Client, url: str):
    return client.get(url)


async def pool(url: str):
    return urllib3.request("GET", url)


async def pool_manager(url: str):
    manager = urllib3.PoolManager()
    return manager.request("GET", url)


async def code_file(path: str):
    return io.open_code(path).read()


async def path_open(name: str):
    with Path(name).open() as handle:
        return handle.read()


async def spawn(args: list):
    process = subprocess.Popen(args)
    return process


async def opener(url: str):
    return urllib.request.build_opener().open(url)
