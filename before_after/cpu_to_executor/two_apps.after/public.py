from fastapi import FastAPI

from stats import spread

app = FastAPI(title="public")


@app.get("/spread/{n}")
async def public_spread(n: int):
    return {"spread": await spread(n)}
