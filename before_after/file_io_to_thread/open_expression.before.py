async def first_line(name):
    return open(name).readline().strip()


async def all_text(names):
    return [open(n, encoding="utf-8").read() for n in names]
