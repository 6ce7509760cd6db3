"""A coroutine whose result is used as a value is awaited where it is made."""
import asyncio


async def fetch_user(user_id):
    await asyncio.sleep(0)
    return {"id": user_id}


def render(user):
    return f"<p>{user['id']}</p>"


async def page(user_id):
    user = await fetch_user(user_id)
    return render(user)


async def kept(ids):
    pending = []
    for i in ids:
        c = fetch_user(i)  # handed off to a list: somebody else awaits it
        pending.append(c)
    return await asyncio.gather(*pending)
