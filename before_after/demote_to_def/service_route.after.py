"""Routes that never await, over a sync service: FastAPI runs them in its threadpool as `def`."""
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from .database import get_db
from .models import Task

app = FastAPI()


class TaskService:
    def __init__(self, db: Annotated[Session, Depends(get_db)]):
        self.db = db

    def list(self):
        return self.db.scalars(select(Task)).all()


ServiceDep = Annotated[TaskService, Depends()]


@app.get("/tasks")
def read_tasks(svc: ServiceDep):
    return svc.list()


@app.get("/tasks/count")
def count_tasks(svc: ServiceDep):
    return {"count": len(svc.list())}


def current_tasks(svc: ServiceDep):
    return svc.list()


@app.get("/mine")
def mine(tasks=Depends(current_tasks)):
    return tasks


@app.get("/health")
async def health():
    return {"ok": True}
