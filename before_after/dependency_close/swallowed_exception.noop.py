"""FastAPI 0.110+: an except around the yield of a dependency must re-raise."""
import logging

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
log = logging.getLogger(__name__)
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        log.exception("request failed")  # swallowed: the client gets a 500, nothing logged
    finally:
        db.close()


def get_db_reraising():
    db = SessionLocal()
    try:
        yield db
    except ValueError as error:
        raise HTTPException(400, str(error)) from error
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()


@app.get("/")
def index(a=Depends(get_db), b=Depends(get_db_reraising)):
    return {}
