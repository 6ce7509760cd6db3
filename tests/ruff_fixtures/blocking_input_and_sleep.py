# asyncfix's own fixture for ruff's ASYNC250 (input) and ASYNC251 (time.sleep).
import time
from time import sleep


async def interactive():
    name = input("name? ")
    input()
    time.sleep(1)
    sleep(0.5)
    retry = dict(sleep=time.sleep)
    return name, retry, list(input() for _ in range(2))


def sync():
    input()
    time.sleep(1)
