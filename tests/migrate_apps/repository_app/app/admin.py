"""notes administration with click: ``python -m app.admin COMMAND`` (``notes-admin``)."""

import click
from sqlalchemy.orm import Session

from app import services
from app.db import Base, SessionLocal, engine, session_scope
from app.models import Note, User
from app.repositories import UserRepository


@click.group()
def cli() -> None:
    """Administer the notes database."""


@cli.command("reset-db")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def reset_db(yes: bool) -> None:
    """Drop and recreate every table."""
    if not yes:
        click.confirm("Drop every table?", abort=True)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    click.echo("tables reset")


@cli.command("add-user")
@click.argument("email")
@click.argument("name")
def add_user(email: str, name: str) -> None:
    """Register a user."""
    try:
        user = services.register_user(email, name)
    except services.DuplicateEmail:
        raise click.ClickException(f"{email} is already registered")
    click.echo(f"user {user.id} created")


@cli.command("rename-user")
@click.argument("user_id", type=int)
@click.argument("name")
def rename_user(user_id: int, name: str) -> None:
    """Give a user another name."""
    with SessionLocal() as session:
        user = session.get(User, user_id)
        if user is None:
            raise click.ClickException(f"no user {user_id}")
        user.name = name
        session.commit()
    click.echo(f"user {user_id} renamed to {name}")


@cli.command("count-notes")
@click.option("--author", "author_id", type=int, default=None, help="only this user's notes")
def count_notes(author_id: int) -> int:
    """Print how many notes there are."""
    with Session(engine) as session:
        query = session.query(Note)
        if author_id is not None:
            query = query.filter(Note.author_id == author_id)
        total = query.count()
    click.echo(f"{total} notes")
    return total


@cli.command("list-users")
def list_users() -> None:
    """Print every user with the number of their notes."""
    with session_scope() as session:
        for user in UserRepository(session).list():
            click.echo(f"{user.id}\t{user.email}\t{user.name}\t{len(user.notes)} notes")


if __name__ == "__main__":
    cli()
