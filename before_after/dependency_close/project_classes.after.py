"""Project classes: their own close/aclose decides the release; overrides are dependencies too."""
from fastapi import Depends, FastAPI


class Connection:
    def close(self):
        pass


class AsyncConnection:
    async def aclose(self):
        pass


class PooledConnection(Connection):
    pass


app = FastAPI()


def get_connection():
    connection = Connection()
    try:
        yield connection
    finally:
        connection.close()


async def get_async_connection():
    connection = AsyncConnection()
    try:
        yield connection
    finally:
        await connection.aclose()


async def get_pooled():
    connection = PooledConnection()
    try:
        yield connection
    finally:
        connection.close()


def override_connection():
    connection = PooledConnection()
    try:
        yield connection
    finally:
        connection.close()


@app.get("/")
async def index(
    a=Depends(get_connection), b=Depends(get_async_connection), c=Depends(get_pooled)
):
    return {}


app.dependency_overrides[get_connection] = override_connection
