import typer
from sqlmodel import Session

from app.db import engine
from app.models import User

cli = typer.Typer()


@cli.command()
def add_user(name: str, token: str):
    with Session(engine) as session:
        session.add(User(name=name, token=token))
        session.commit()


if __name__ == "__main__":
    cli()
