from sqlalchemy import func
from sqlalchemy.orm import Session, joinedload, selectinload

from models import Address, User


async def rows(s: Session, pk: int, name: str):
    by_pk = s.query(User).get(pk)
    by_pk_loaded = s.query(User).options(selectinload(User.addresses)).get(pk)
    everyone = s.query(User).all()
    first = s.query(User).filter(User.name == name).order_by(User.id).first()
    exactly_one = s.query(User).filter_by(name=name).one()
    maybe = s.query(User).filter(User.id == pk).one_or_none()
    single = s.query(User).filter(User.id == pk).scalar()
    page = s.query(User).join(User.addresses).distinct().offset(10).limit(5).all()
    total = s.query(User).count()
    matching = s.query(User).filter(User.name.like("a%")).count()
    counted = s.query(func.count(User.id)).scalar()
    grouped = s.query(User.name, func.count(User.id)).group_by(User.name).having(func.count(User.id) > 1).all()
    joined = s.query(User).options(joinedload(User.addresses)).all()
    pairs = s.query(User, Address).join(Address, User.id == Address.user_id).all()
    columns = s.query(User.id, User.name).all()
    names = s.query(User.name).all()
    first_name = s.query(User.name).order_by(User.name).first()
    only_ids = s.query(User).with_entities(User.id).all()
    renamed = s.query(User).filter(User.id == pk).update({"name": name})
    removed = s.query(User).filter(User.name == name).delete(synchronize_session=False)
    raw = s.execute("SELECT count(*) FROM users", {}).scalar()
    return by_pk, by_pk_loaded, everyone, first, exactly_one, maybe, single, page, total, matching, counted, grouped, joined, pairs, columns, names, first_name, only_ids, renamed, removed, raw


async def session_methods(s: Session, user: User):
    s.add(user)
    s.add_all([user])
    s.flush()
    s.refresh(user)
    merged = s.merge(user)
    s.expunge(merged)
    s.delete(user)
    s.commit()
    s.rollback()
    s.close()
