"""bookshelf administration: ``python -m app.cli COMMAND``."""

import click

from . import crud, schemas
from .database import SessionLocal


@click.group()
def cli():
    """Manage the bookshelf."""


@cli.command("add-author")
@click.argument("name")
def add_author(name):
    """Register an author."""
    with SessionLocal() as db:
        if crud.get_author_by_name(db, name=name):
            raise click.ClickException(f"{name} is already registered")
        author = crud.create_author(db, schemas.AuthorCreate(name=name))
        click.echo(f"author {author.id} created")


@cli.command("authors")
def list_authors():
    """Print every author."""
    with SessionLocal() as db:
        for author in crud.get_authors(db):
            click.echo(f"{author.id}\t{author.name}\t{len(author.books)} books")


if __name__ == "__main__":
    cli()
