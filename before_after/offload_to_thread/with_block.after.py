"""A blocking project context manager: the whole `with` block runs on one thread."""
import asyncio
import zipfile
from contextlib import contextmanager


@contextmanager
def archive(path: str):
    handle = zipfile.ZipFile(path)
    try:
        yield handle
    finally:
        handle.close()


async def list_members(path: str) -> list:
    await asyncio.sleep(0)
    def _archive_block():
        with archive(path) as zf:
            names = zf.namelist()
            sizes = [zf.getinfo(n).file_size for n in names]
        return names, sizes

    names, sizes = await asyncio.to_thread(_archive_block)
    return list(zip(names, sizes))


async def first_member(path: str) -> str:
    await asyncio.sleep(0)
    def _archive_block():
        with archive(path) as zf:
            return zf.namelist()[0]

    return await asyncio.to_thread(_archive_block)
