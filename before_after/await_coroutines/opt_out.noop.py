async def fetch():
    return 1


async def main():
    return fetch()  # asyncfix: ignore


def sync_on_purpose():  # asyncfix: ignore[await_coroutines]
    return str(fetch())
