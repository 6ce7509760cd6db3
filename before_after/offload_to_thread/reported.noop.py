"""Blocking chains asyncfix cannot fix safely: reported with the chain."""
import asyncio
import sqlite3
from contextlib import contextmanager


@contextmanager
def connection(path: str):
    conn = sqlite3.connect(path)
    try:
        yield conn
    finally:
        conn.close()


def rows(path: str):
    conn = sqlite3.connect(path)
    yield from conn.execute("select 1")


def count(path: str) -> int:
    with connection(path) as conn:
        return conn.execute("select count(*) from t").fetchone()[0]


async def early_return(path: str) -> int:
    await asyncio.sleep(0)
    with connection(path) as conn:
        row = conn.execute("select 1").fetchone()
        if row is None:
            return 0
    return row[0]


async def in_expression(path: str) -> int:
    await asyncio.sleep(0)
    return count(path) + count(path + ".bak")


async def generator(path: str) -> list:
    await asyncio.sleep(0)
    return [r for r in rows(path)]
