"""No app in this module: a client per function call, shared by its calls and loops."""

import requests

INTERNAL_CA = "/etc/ssl/internal.pem"


async def crawl(urls: list, session_id: str):
    """One client for the whole function: not one per loop iteration."""
    pages = []
    for url in urls:
        pages.append(requests.get(url).text)
    summary = requests.post(
        "https://internal.example.com/summary",
        json={"count": len(pages)},
        verify=INTERNAL_CA,
        cookies={"session": session_id},
    )
    return pages, summary.status_code
