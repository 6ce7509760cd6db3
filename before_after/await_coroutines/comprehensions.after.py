async def square(x):
    return x * x


async def totals(xs):
    squares = [await square(x) for x in xs]
    by_key = {x: await square(x) for x in xs}
    total = sum(square(x) for x in xs)
    return squares, by_key, total
