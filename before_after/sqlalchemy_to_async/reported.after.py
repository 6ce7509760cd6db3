from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, declarative_base, relationship, sessionmaker

from settings import settings

engine = create_engine(settings.database_url)
SessionLocal = sessionmaker(bind=engine)
Base = declarative_base()


class Parent(Base):
    __tablename__ = "parents"
    children = relationship("Child", lazy="select")
    pets = relationship("Pet", backref="owner", lazy="selectin")


Base.metadata.create_all(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def kept_query(db: Session = Depends(get_db)):
    query = db.query(Parent)
    return query.all()


async def unknown_method(db: Session = Depends(get_db)):
    return db.query(Parent).populate_existing().all()


async def in_generator(db: Session = Depends(get_db)):
    return list(db.query(Parent).filter(Parent.id == i).first() for i in range(3))
