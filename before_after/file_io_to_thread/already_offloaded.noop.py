import asyncio
import os
from pathlib import Path


async def read(p: Path, name):
    def _read_file():
        with open(name) as f:
            return f.read()

    data = await asyncio.to_thread(_read_file)
    there = await asyncio.to_thread(os.path.exists, name)
    text = await asyncio.to_thread(p.read_text)
    return data, there, text
