from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./app.db")
SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
app = FastAPI()


async def get_db():
    async with SessionLocal() as db:
        yield db


class Repo:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def one(self):
        return (await self.session.execute(text("SELECT 1"))).scalar_one()


class Sub(Repo):
    async def two(self):
        return (await self.session.execute(text("SELECT 2"))).scalar_one()


@app.get("/")
async def read(db: AsyncSession = Depends(get_db)):
    return await Sub(db).two() + await Sub(db).one()
