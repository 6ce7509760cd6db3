import asyncio

import typer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import engine
from .models import SQLModel, User

main = typer.Typer(name="Pamps CLI")


async def _check_database(ctx: typer.Context):
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            (await session.exec(select(User).limit(1))).first()
    finally:
        await engine.dispose()


@main.callback()
def check_database(ctx: typer.Context):
    """Pamps CLI: every command checks the database first"""
    asyncio.run(_check_database(ctx))


async def _user_list():
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            users = await session.exec(select(User))
            for user in users:
                typer.echo(f"{user.username}\t{user.email}")
    finally:
        await engine.dispose()


@main.command()
def user_list():
    """Lists all users"""
    asyncio.run(_user_list())


async def _create_user(email: str, username: str):
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            user = User(email=email, username=username)
            session.add(user)
            await session.commit()
            await session.refresh(user)
            typer.echo(f"created {username} user")
            return user
    finally:
        await engine.dispose()


# used by the tests' helpers too
@main.command()
def create_user(email: str, username: str):
    """Create user"""
    return asyncio.run(_create_user(email, username))


async def _reset_db(force: bool, *, create: bool):
    try:
        force = force or typer.confirm("Are you sure?")
        if force:
            async with engine.begin() as conn:
                await conn.run_sync(SQLModel.metadata.drop_all)
            if create:
                async with engine.begin() as conn:
                    await conn.run_sync(SQLModel.metadata.create_all)
    finally:
        await engine.dispose()


@main.command()
def reset_db(
    force: bool = typer.Option(False, "--force", "-f", help="Run with no confirmation"),
    *,
    create: bool = typer.Option(True),
):
    """Resets the database tables"""
    asyncio.run(_reset_db(force, create=create))
