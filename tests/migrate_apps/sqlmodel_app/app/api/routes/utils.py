from fastapi import APIRouter
from sqlmodel import select

from app.api.deps import SessionDep

router = APIRouter(prefix="/utils", tags=["utils"])


@router.get("/health-check/")
async def health_check(session: SessionDep) -> bool:
    session.exec(select(1)).one()
    return True
