import asyncio


class Repository:
    async def get(self, key):
        await asyncio.sleep(0)
        return key

    @classmethod
    async def default(cls):
        return cls()

    async def pair(self, a, b):
        first = await self.get(a)
        return first, await self.get(b)

    async def label(self, key):
        return f"<{await self.get(key)}>"


class Service:
    def __init__(self):
        self.repository = Repository()

    async def handle(self, key):
        repository = Repository()
        other = await Repository.default()
        return await repository.get(key), other, await Repository().get(key)
