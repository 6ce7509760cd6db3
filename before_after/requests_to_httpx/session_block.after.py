import httpx

# One SSL context for this module's httpx clients: each costs tens of ms of CPU.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()


async def sync_profile(token: str, user_id: int):
    async with httpx.AsyncClient(
        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None
    ) as session:
        session.headers.update({"Authorization": f"Bearer {token}"})
        profile = (await session.get(f"https://api.example.com/users/{user_id}")).json()
        await session.post("https://api.example.com/audit", json={"seen": user_id})
    return profile
