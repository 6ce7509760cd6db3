# The seed article: an async dependency around a sync session, and its "Best Practices" fix
# (`async def get_db(): async with SessionLocal() as session: yield session`).
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///./app.db", connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)

app = FastAPI()


# Not closing database session properly
async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        pass  # Missing db.close()


@app.get("/users/{user_id}")
async def get_user(user_id: int, db: Session = Depends(get_db)):
    return {"id": user_id}
