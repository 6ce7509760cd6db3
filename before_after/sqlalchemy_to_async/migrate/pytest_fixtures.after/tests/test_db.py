from app.db import count_rows, engine, ping


async def test_ping():
    assert await ping(engine) == 1


async def test_count_rows(db):
    assert await count_rows(db) >= 0
