"""Two modules of the app look as if they would use a process pool; only reports.py's call
passes plain data, so reports.py holds the app's pool and analytics.py gets none."""
from contextlib import asynccontextmanager

from fastapi import FastAPI

from analytics import trend
from reports import close_process_pool, summary


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Closes the app's shared resources (added by asyncfix) when the app stops."""
    yield
    await close_process_pool()


app = FastAPI(title="reports", lifespan=lifespan)


@app.get("/summary/{seed}")
async def get_summary(seed: int):
    return await summary(seed)


@app.get("/trend/{seed}")
async def get_trend(seed: int):
    return await trend({"seed": seed})
