import requests


class Client:
    def get(self, url):
        return url


async def local_variable(url: str):
    requests = Client()
    return requests.get(url)


async def parameter(requests, url: str):
    return requests.get(url)


async def module_passed_around(make_call, url: str):
    return make_call(requests, url)


async def already_async(client, url: str):
    return await client.get(url)
