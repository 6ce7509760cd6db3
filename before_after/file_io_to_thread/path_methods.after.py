import asyncio
import pathlib
from pathlib import Path
from typing import Optional


async def read(p: Path) -> str:
    return await asyncio.to_thread(p.read_text, encoding="utf-8")


async def copy(src: pathlib.Path, dst: "str"):
    await asyncio.to_thread(
        Path(dst).write_bytes, await asyncio.to_thread(src.read_bytes)
    )


async def ensure(directory: Optional[Path], name):
    if not await asyncio.to_thread(directory.exists):
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    target = Path(name)
    return (
        (await asyncio.to_thread(target.stat)).st_size
        if await asyncio.to_thread(target.is_file)
        else 0
    )
