import asyncio

from fastapi import FastAPI

app = FastAPI()


async def load(key):
    await asyncio.sleep(0)
    return {"key": key}


async def build(key):
    data = await load(key)
    return {"data": data, "size": len(await load(key + "!"))}


async def describe(key):
    return (await build(key))["data"]


@app.get("/items/{key}")
async def item(key: str):
    """A sync route: FastAPI awaits it just as well once it is async."""
    return await describe(key)


async def main():
    print(await describe("x"))


if __name__ == "__main__":
    asyncio.run(main())
