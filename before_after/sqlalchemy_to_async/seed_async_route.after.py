# Using a blocking database call inside an async FastAPI route
from fastapi import Depends, FastAPI

from database import get_db
from models import User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

app = FastAPI()


@app.get("/users/{user_id}")
async def get_user(user_id: int, db: AsyncSession = Depends(get_db)):
    user = await db.scalar(select(User).filter(User.id == user_id).limit(1))
    return user
