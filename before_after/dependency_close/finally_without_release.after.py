import logging

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)
engine = create_async_engine("sqlite+aiosqlite:///./app.db")
AsyncSessionLocal = async_sessionmaker(engine, expire_on_commit=False)

app = FastAPI()


async def get_session():
    session = AsyncSessionLocal()
    try:
        yield session
    finally:
        log.debug("request done")
        await session.close()


async def get_cache():
    cache = aioredis.from_url("redis://localhost")
    try:
        yield cache
    except Exception:
        log.exception("cache")
        raise
    finally:
        await cache.aclose()  # TODO: cleanup


@app.get("/", dependencies=[Depends(get_session), Depends(get_cache)])
async def index():
    return {}
