import requests


async def sync_profile(token: str, user_id: int):
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {token}"})
        profile = session.get(f"https://api.example.com/users/{user_id}").json()
        session.post("https://api.example.com/audit", json={"seen": user_id})
    return profile
