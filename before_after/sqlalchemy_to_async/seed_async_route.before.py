# Using a blocking database call inside an async FastAPI route
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

from database import get_db
from models import User

app = FastAPI()


@app.get("/users/{user_id}")
async def get_user(user_id: int, db: Session = Depends(get_db)):
    user = db.query(User).filter(User.id == user_id).first()
    return user
