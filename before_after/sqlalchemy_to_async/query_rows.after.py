from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from models import Address, User


async def rows(s: AsyncSession, pk: int, name: str):
    by_pk = await s.get(User, pk)
    by_pk_loaded = await s.get(User, pk, options=[selectinload(User.addresses)])
    everyone = (await s.execute(select(User))).scalars().all()
    first = await s.scalar(
        select(User).filter(User.name == name).order_by(User.id).limit(1)
    )
    exactly_one = (await s.execute(select(User).filter_by(name=name))).scalar_one()
    maybe = (await s.execute(select(User).filter(User.id == pk))).scalar_one_or_none()
    single = (await s.execute(select(User).filter(User.id == pk))).scalar_one_or_none()
    result = await s.execute(
        select(User).join(User.addresses).distinct().offset(10).limit(5)
    )
    page = result.scalars().all()
    total = await s.scalar(select(func.count()).select_from(User))
    matching = await s.scalar(
        select(func.count()).select_from(
            select(User).filter(User.name.like("a%")).subquery()
        )
    )
    counted = await s.scalar(select(func.count(User.id)))
    result = await s.execute(
        select(User.name, func.count(User.id))
        .group_by(User.name)
        .having(func.count(User.id) > 1)
    )
    grouped = result.all()
    result = await s.execute(select(User).options(joinedload(User.addresses)))
    joined = result.unique().scalars().all()
    result = await s.execute(
        select(User, Address).join(Address, User.id == Address.user_id)
    )
    pairs = result.all()
    columns = (await s.execute(select(User.id, User.name))).all()
    names = (await s.execute(select(User.name))).all()
    result = await s.execute(select(User.name).order_by(User.name).limit(1))
    first_name = result.first()
    only_ids = (await s.execute(select(User).with_only_columns(User.id))).all()
    result = await s.execute(update(User).where(User.id == pk).values({"name": name}))
    renamed = result.rowcount
    result = await s.execute(
        delete(User)
        .where(User.name == name)
        .execution_options(synchronize_session=False)
    )
    removed = result.rowcount
    raw = (await s.execute(text("SELECT count(*) FROM users"), {})).scalar()
    return by_pk, by_pk_loaded, everyone, first, exactly_one, maybe, single, page, total, matching, counted, grouped, joined, pairs, columns, names, first_name, only_ids, renamed, removed, raw


async def session_methods(s: AsyncSession, user: User):
    s.add(user)
    s.add_all([user])
    await s.flush()
    await s.refresh(user)
    merged = await s.merge(user)
    s.expunge(merged)
    await s.delete(user)
    await s.commit()
    await s.rollback()
    await s.close()
