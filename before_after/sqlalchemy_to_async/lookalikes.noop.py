"""Things that look like SQLAlchemy sessions and are not; a Session already async."""
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from search import Index


async def search(index: Index, term: str):
    return index.query(term).filter(lang="en").first()


async def already_async(db: AsyncSession = Depends(lambda: None)):
    db.add(object())
    await db.commit()
    return (await db.execute("SELECT 1")).scalar()


async def untyped(db=Depends(lambda: None)):
    return db.query("x").all()
