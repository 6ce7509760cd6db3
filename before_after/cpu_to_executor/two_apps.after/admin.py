from fastapi import FastAPI

from stats import spread

app = FastAPI(title="admin")


@app.get("/spread/{n}")
async def get_spread(n: int):
    return await spread(n)
