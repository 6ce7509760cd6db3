def moving_total(params) -> int:
    total = 0
    for i in range(400_000):
        total = (total + i * params["seed"]) % 1_000_003
    return total


async def trend(params) -> dict:
    return {"trend": moving_total(params)}
