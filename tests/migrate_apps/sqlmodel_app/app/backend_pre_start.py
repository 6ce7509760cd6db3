import logging
import time

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.core.db import engine

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

max_tries = 60 * 5  # 5 minutes
wait_seconds = 1


def init(db_engine: Engine) -> None:
    for attempt in range(max_tries):
        try:
            with Session(db_engine) as session:
                # Try to create session to check if DB is awake
                session.exec(select(1))
            return
        except Exception as e:
            logger.error(e)
            if attempt + 1 == max_tries:
                raise
            time.sleep(wait_seconds)


def main() -> None:
    logger.info("Initializing service")
    init(engine)
    logger.info("Service finished initializing")


if __name__ == "__main__":
    main()
