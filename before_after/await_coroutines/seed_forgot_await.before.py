"""Seed: "Pitfall 2: Forgetting await"."""
import asyncio

from fastapi import FastAPI

app = FastAPI()


async def fetch_user_async(user_id: int):
    await asyncio.sleep(0)
    return {"id": user_id}


@app.get("/user/{user_id}")
async def get_user(user_id: int):
    # Returns a coroutine, not the actual result!
    user = fetch_user_async(user_id)  # Missing await
    return user  # Returns coroutine object, not user data
