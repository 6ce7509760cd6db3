"""A plain sync script: no async code, no FastAPI dependency. It stays as it is."""
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, declarative_base, relationship, sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)
Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    items = relationship("Item")


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def count_users(session: Session) -> int:
    return session.query(User).count()


if __name__ == "__main__":
    Base.metadata.create_all(bind=engine)
    with Session(engine) as session:
        print(count_users(session))
        session.commit()
