from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .db import get_db

app = FastAPI()


@app.get("/ping")
async def ping(db: AsyncSession = Depends(get_db)):
    return {"ok": (await db.execute(text("SELECT 1"))).scalar()}
