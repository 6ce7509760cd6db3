import os


def ask():
    return input("? "), os.wait()


async def outer():
    return lambda: input("? ")
