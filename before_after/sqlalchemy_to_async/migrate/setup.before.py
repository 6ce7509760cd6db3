from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, declarative_base, sessionmaker

DATABASE_URL = "postgresql+psycopg2://user:secret@localhost/app"
REPLICA_URL = f"mysql+pymysql://{'reader'}@replica/app"

engine = create_engine(DATABASE_URL, pool_pre_ping=True)
replica = create_engine(REPLICA_URL)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
ReplicaSession = sessionmaker(replica, class_=AsyncSession, expire_on_commit=False)

Base = declarative_base()

# Create the tables on import.
Base.metadata.create_all(bind=engine)

app = FastAPI(title="setup")


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/ping")
def ping(db: Session = Depends(get_db)):
    return {"ok": db.execute("SELECT 1").scalar()}
