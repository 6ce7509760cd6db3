from time import sleep


async def poll(ticks):
    for _ in range(ticks):
        sleep(0.1)
    return ticks
