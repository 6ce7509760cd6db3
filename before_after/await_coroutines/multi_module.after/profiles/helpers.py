"""A sync helper calling coroutines of another module: the coroutines never ran."""
from . import services
from .services import ScoreStore


async def build_profile(user_id: int) -> dict:
    profile = await services.fetch_profile(user_id)
    store = ScoreStore()
    return {**profile, "score": await store.score(user_id)}
