import asyncio


class Repository:
    async def get(self, key):
        await asyncio.sleep(0)
        return key

    @classmethod
    async def default(cls):
        return cls()

    async def pair(self, a, b):
        first = self.get(a)
        return first, self.get(b)

    def label(self, key):
        return f"<{self.get(key)}>"


class Service:
    def __init__(self):
        self.repository = Repository()

    async def handle(self, key):
        repository = Repository()
        other = Repository.default()
        return repository.get(key), other, Repository().get(key)
