from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import declarative_base

DATABASE_URL = "postgresql+asyncpg://user:secret@localhost/app"
REPLICA_URL = f"mysql+aiomysql://{'reader'}@replica/app"

engine = create_async_engine(DATABASE_URL, pool_pre_ping=True)
replica = create_async_engine(REPLICA_URL)
SessionLocal = async_sessionmaker(autoflush=False, bind=engine, expire_on_commit=False)
ReplicaSession = async_sessionmaker(replica, expire_on_commit=False)

Base = declarative_base()


# Create the tables on import.
@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(title="setup", lifespan=lifespan)


async def get_db():
    async with SessionLocal() as db:
        yield db


@app.get("/ping")
async def ping(db: AsyncSession = Depends(get_db)):
    return {"ok": (await db.execute(text("SELECT 1"))).scalar()}
