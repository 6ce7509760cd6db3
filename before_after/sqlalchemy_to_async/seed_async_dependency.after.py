# The seed article: an async dependency around a sync session, and its "Best Practices" fix
# (`async def get_db(): async with SessionLocal() as session: yield session`).
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(
    "sqlite+aiosqlite:///./app.db", connect_args={"check_same_thread": False}
)
SessionLocal = async_sessionmaker(autoflush=False, bind=engine, expire_on_commit=False)

app = FastAPI()


# Not closing database session properly
async def get_db():
    async with SessionLocal() as db:
        yield db


@app.get("/users/{user_id}")
async def get_user(user_id: int, db: AsyncSession = Depends(get_db)):
    return {"id": user_id}
