import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession


async def pause():
    asyncio.sleep(0.1)


async def fetch(url):
    async with httpx.AsyncClient() as client:
        response = client.get(url)
    return response


async def save(session: AsyncSession, item):
    session.add(item)
    session.commit()
    return item
