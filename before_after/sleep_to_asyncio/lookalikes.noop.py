"""Names that look like time.sleep but are not the time module's."""
import time as clock
from asyncio import sleep


class Clock:
    def __init__(self):
        self.time = clock


async def not_the_module(self_like, trio):
    self_like.time.sleep(1)  # an attribute of another object
    await sleep(1)  # asyncio's sleep, already awaited
    await trio.sleep(1)


async def shadowed():
    time = Clock()  # a local that shadows the module name
    time.sleep(1)


async def already_async():
    import asyncio

    await asyncio.sleep(1)
