async def square(x):
    return x * x


async def totals(xs):
    squares = [square(x) for x in xs]
    by_key = {x: square(x) for x in xs}
    total = sum(square(x) for x in xs)
    return squares, by_key, total
