import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import engine


@pytest.fixture(scope="session")
async def db():
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


def pytest_sessionfinish(session, exitstatus):
    asyncio.run(engine.dispose())


@pytest.fixture(scope="session", autouse=True)
def anyio_backend():
    # async fixtures and tests run on anyio's pytest plugin, on asyncio (asyncfix --migrate)
    return "asyncio"
