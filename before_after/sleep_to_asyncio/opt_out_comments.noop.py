import time


async def deliberate():
    time.sleep(0.01)  # asyncfix: ignore
    time.sleep(0.01)  # asyncfix: ignore[sleep_to_asyncio]
    time.sleep(
        0.01
    )  # asyncfix: ignore
