import asyncio

from fastapi import FastAPI

from profiles import services
from profiles.helpers import build_profile as make_profile

app = FastAPI()


@app.get("/profile/{user_id}")
def profile(user_id: int):
    return make_profile(user_id)


@app.get("/batch")
async def batch():
    return {"profiles": [make_profile(i) for i in range(3)]}


@app.get("/task")
async def task():
    background = asyncio.create_task(services.fetch_profile(7))
    return await background
