import functools
import threading


async def fetch():
    return 1


class Model:
    def __repr__(self):
        return str(fetch())

    @property
    def value(self):
        return fetch()


class Handler(threading.Thread):
    def run(self):
        fetch()


def on_done():
    fetch()


@functools.lru_cache
def cached():
    fetch()


def numbers():
    fetch()
    yield 1


def start():
    threading.Thread(target=on_done).start()


lookup = {"key": lambda: fetch()}
value = fetch() + 1
