from sqlmodel import Session, SQLModel, create_engine

from app.settings import settings

# Shared by the routes, the security helper, the CLI and the init function: converting it
# for the routes alone would break the others.
engine = create_engine(settings.db.uri)


def create_db_and_tables():
    SQLModel.metadata.create_all(engine)


def get_session():
    with Session(engine) as session:
        yield session
