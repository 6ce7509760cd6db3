"""The release is there, but not on every path: it moves into finally."""
import sqlite3

import httpx
from fastapi import Depends, FastAPI

app = FastAPI()


def get_conn():
    conn = sqlite3.connect("app.db")
    yield conn
    conn.close()


async def get_client():
    client = httpx.AsyncClient()
    try:
        yield client
    except httpx.HTTPError:
        await client.aclose()
        raise


def get_rollback_conn():
    conn = sqlite3.connect("app.db")
    try:
        yield conn
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    else:
        conn.close()


@app.get("/a")
def a(conn=Depends(get_conn), client=Depends(get_client), other=Depends(get_rollback_conn)):
    return {}
