"""The app and a module it imports both send CPU work to a process pool: one pool, the app's."""
from fastapi import FastAPI

from reports import summary

app = FastAPI(title="reports")


def checksum(n: int) -> int:
    total = 0
    for i in range(1_000_000):
        total = (total * 31 + i + n) % 1_000_003
    return total


@app.get("/checksum/{n}")
async def get_checksum(n: int):
    return {"checksum": checksum(n)}


@app.get("/summary/{n}")
async def get_summary(n: int):
    return await summary(n)
