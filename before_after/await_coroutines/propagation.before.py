import asyncio

from fastapi import FastAPI

app = FastAPI()


async def load(key):
    await asyncio.sleep(0)
    return {"key": key}


def build(key):
    data = load(key)
    return {"data": data, "size": len(load(key + "!"))}


def describe(key):
    return build(key)["data"]


@app.get("/items/{key}")
def item(key: str):
    """A sync route: FastAPI awaits it just as well once it is async."""
    return describe(key)


async def main():
    print(describe("x"))


if __name__ == "__main__":
    main()
