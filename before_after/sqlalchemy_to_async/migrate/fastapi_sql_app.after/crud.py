from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import models
import schemas


async def get_user(db: AsyncSession, user_id: int):
    return await db.scalar(
        select(models.User).filter(models.User.id == user_id).limit(1)
    )


async def get_user_by_email(db: AsyncSession, email: str):
    return await db.scalar(
        select(models.User).filter(models.User.email == email).limit(1)
    )


async def get_users(db: AsyncSession, skip: int = 0, limit: int = 100):
    result = await db.execute(select(models.User).offset(skip).limit(limit))
    return result.scalars().all()


async def count_users(db: AsyncSession):
    return await db.scalar(select(func.count()).select_from(models.User))


async def create_user(db: AsyncSession, user: schemas.UserCreate):
    fake_hashed_password = user.password + "notreallyhashed"
    db_user = models.User(email=user.email, hashed_password=fake_hashed_password)
    db.add(db_user)
    await db.commit()
    await db.refresh(db_user)
    return db_user


async def get_items(db: AsyncSession, skip: int = 0, limit: int = 100):
    result = await db.execute(
        select(models.Item).order_by(models.Item.id).offset(skip).limit(limit)
    )
    return result.scalars().all()


async def create_user_item(db: AsyncSession, item: schemas.ItemCreate, user_id: int):
    db_item = models.Item(**item.model_dump(), owner_id=user_id)
    db.add(db_item)
    await db.commit()
    await db.refresh(db_item)
    return db_item


async def deactivate_user(db: AsyncSession, user_id: int):
    result = await db.execute(
        update(models.User)
        .where(models.User.id == user_id)
        .values({"is_active": False})
        .execution_options(synchronize_session="fetch")
    )
    count = result.rowcount
    await db.commit()
    return count
