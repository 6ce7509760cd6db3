# The URL comes from the environment; its default names the dialect, so the async driver is set
# where the engine is built, whatever URL the deployment provides.
import os

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://app@localhost/app")

engine = create_async_engine(
    make_url(DATABASE_URL).set(drivername="postgresql+asyncpg"), pool_pre_ping=True
)
SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
app = FastAPI()


async def get_db():
    async with SessionLocal() as db:
        yield db


@app.get("/ping")
async def ping(db: AsyncSession = Depends(get_db)):
    return {"ok": (await db.execute(text("SELECT 1"))).scalar()}
