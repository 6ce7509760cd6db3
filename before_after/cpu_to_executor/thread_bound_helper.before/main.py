"""Two modules of the app look as if they would use a process pool; only reports.py's call
passes plain data, so reports.py holds the app's pool and analytics.py gets none."""
from fastapi import FastAPI

from analytics import trend
from reports import summary

app = FastAPI(title="reports")


@app.get("/summary/{seed}")
async def get_summary(seed: int):
    return await summary(seed)


@app.get("/trend/{seed}")
async def get_trend(seed: int):
    return await trend({"seed": seed})
