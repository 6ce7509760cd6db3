import requests

PRICES = "https://prices.example.com"


def fingerprint(item_id: int) -> int:
    value = item_id
    for _ in range(1_000_000):
        value = (value * 1_103_515_245 + 12_345) % 2**31
    return value


async def enrich(item_id: int, item: dict) -> dict:
    price = requests.get(f"{PRICES}/{item_id}", timeout=5).json()
    return {**item, "price": price, "fingerprint": fingerprint(item_id)}
