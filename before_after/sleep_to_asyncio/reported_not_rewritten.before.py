import time


def retry(call, sleep):
    return call()


async def handler(data, asyncio):
    retry(lambda: data, sleep=time.sleep)  # a reference: whoever calls it blocks
    total = sum(time.sleep(0) or 1 for _ in data)  # await would make an async generator
    time.sleep(1)  # `asyncio` is a parameter here
    return total
