import contextlib
import time


async def everywhere(items, lock):
    results = [time.sleep(0) for _ in items]
    lookup = {item: time.sleep(0) for item in items}
    flag = time.sleep(0) is None
    value = time.sleep(0) or "fallback"
    with lock:
        time.sleep(0.01)
    try:
        time.sleep(0.01)
    except Exception:
        time.sleep(0.01)
    finally:
        time.sleep(0.01)
    print("slept", time.sleep(0))
    (time.sleep(0))
    return results, lookup, flag, value, repr(time.sleep(0)).upper()


async def ticks(n):
    for i in range(n):
        time.sleep(0.01)
        yield i


class Worker:
    async def run(self):
        time.sleep(0.5)

    @contextlib.asynccontextmanager
    async def session(self):
        time.sleep(0.1)
        yield self
