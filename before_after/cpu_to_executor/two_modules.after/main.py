"""The app and a module it imports both send CPU work to a process pool: one pool, the app's."""
import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

from reports import close_process_pool, process_pool, summary


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    await close_process_pool()


app = FastAPI(title="reports", lifespan=lifespan)


def checksum(n: int) -> int:
    total = 0
    for i in range(1_000_000):
        total = (total * 31 + i + n) % 1_000_003
    return total


@app.get("/checksum/{n}")
async def get_checksum(n: int):
    return {
        "checksum": await asyncio.get_running_loop().run_in_executor(
            process_pool(), checksum, n
        )
    }


@app.get("/summary/{n}")
async def get_summary(n: int):
    return await summary(n)
