from sqlmodel import Session, SQLModel, create_engine, select

from app.models import User

engine = create_engine("sqlite:///./app.db")


def init_db(session: Session) -> None:
    # Tables should be created with Alembic migrations; this app creates them here.
    SQLModel.metadata.create_all(engine)

    user = session.exec(select(User).where(User.email == "admin@example.com")).first()
    if not user:
        session.add(User(email="admin@example.com"))
        session.commit()
