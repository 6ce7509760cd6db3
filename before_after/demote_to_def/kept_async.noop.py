"""Coroutines that must stay coroutines, though they block through project code."""
import asyncio

from fastapi import FastAPI, WebSocket

app = FastAPI()
lock = asyncio.Lock()


def slow_report():
    import time

    time.sleep(1)
    return "report"


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.send_text(slow_report())  # awaits: offloaded, not demoted


@app.get("/guarded")
async def guarded():
    async with lock:
        return await asyncio.to_thread(slow_report)
