import urllib.request

import requests

SESSION = requests.Session()


async def legacy(url: str, proxies: dict, **kwargs):
    body = urllib.request.urlopen(url).read()
    requests.get(url, proxies=proxies)
    requests.get(url, **kwargs)
    cached = SESSION.get(url)
    return body, cached


async def lines(url: str):
    with requests.get(url, stream=True) as r:
        for line in r.iter_lines():
            print(line)


async def many(urls: list):
    return sum(requests.get(u).status_code for u in urls)
