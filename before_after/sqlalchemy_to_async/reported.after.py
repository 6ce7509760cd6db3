from fastapi import Depends
from sqlalchemy.orm import declarative_base, relationship

from settings import settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(settings.database_url)
SessionLocal = async_sessionmaker(bind=engine, expire_on_commit=False)
Base = declarative_base()


class Parent(Base):
    __tablename__ = "parents"
    children = relationship("Child", lazy="select")
    pets = relationship("Pet", backref="owner", lazy="selectin")


Base.metadata.create_all(bind=engine)


async def get_db():
    async with SessionLocal() as db:
        yield db


async def kept_query(db: AsyncSession = Depends(get_db)):
    query = db.query(Parent)
    return query.all()


async def unknown_method(db: AsyncSession = Depends(get_db)):
    return db.query(Parent).populate_existing().all()


async def in_generator(db: AsyncSession = Depends(get_db)):
    return list(db.query(Parent).filter(Parent.id == i).first() for i in range(3))
