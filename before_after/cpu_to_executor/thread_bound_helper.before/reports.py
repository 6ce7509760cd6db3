def histogram(seed: int) -> list:
    buckets = [0] * 10
    for i in range(500_000):
        buckets[(i * seed) % 10] += 1
    return buckets


async def summary(seed: int) -> dict:
    counts = histogram(seed)
    return {"seed": seed, "max": max(counts)}
