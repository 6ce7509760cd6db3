import typer
from sqlmodel import Session, select

from .db import engine
from .models import SQLModel, User

main = typer.Typer(name="Pamps CLI")


@main.callback()
def check_database(ctx: typer.Context):
    """Pamps CLI: every command checks the database first"""
    with Session(engine) as session:
        session.exec(select(User).limit(1)).first()


@main.command()
def user_list():
    """Lists all users"""
    with Session(engine) as session:
        users = session.exec(select(User))
        for user in users:
            typer.echo(f"{user.username}\t{user.email}")


# used by the tests' helpers too
@main.command()
def create_user(email: str, username: str):
    """Create user"""
    with Session(engine) as session:
        user = User(email=email, username=username)
        session.add(user)
        session.commit()
        session.refresh(user)
        typer.echo(f"created {username} user")
        return user


@main.command()
def reset_db(
    force: bool = typer.Option(False, "--force", "-f", help="Run with no confirmation"),
    *,
    create: bool = typer.Option(True),
):
    """Resets the database tables"""
    force = force or typer.confirm("Are you sure?")
    if force:
        SQLModel.metadata.drop_all(engine)
        if create:
            SQLModel.metadata.create_all(engine)
