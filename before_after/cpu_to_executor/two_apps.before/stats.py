def variance(n: int) -> float:
    values = [(i * n) % 97 for i in range(200_000)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


async def spread(n: int) -> float:
    return variance(n)
