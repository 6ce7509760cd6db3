import requests
from requests.exceptions import ConnectionError, Timeout


async def fetch(url: str):
    try:
        r = requests.get(url, timeout=10)
        r.raise_for_status()
    except requests.exceptions.HTTPError as error:
        return {"status": error.response.status_code}
    except (ConnectionError, Timeout):
        return {"status": None}
    return r.json()


async def parse(url: str):
    try:
        return requests.get(url).json()
    except requests.RequestException:
        return None


def still_sync(url: str):
    try:
        return requests.get(url).json()
    except requests.RequestException:
        return None
