import asyncio


async def fetch_profile(user_id: int) -> dict:
    await asyncio.sleep(0.01)
    return {"id": user_id, "name": f"user-{user_id}"}


class ScoreStore:
    async def score(self, user_id: int) -> int:
        await asyncio.sleep(0.01)
        return user_id * 10
