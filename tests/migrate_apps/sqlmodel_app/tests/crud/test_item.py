from sqlmodel import Session, select

from app.models import Item
from tests.utils.item import create_random_item


def test_create_item(db: Session) -> None:
    item = create_random_item(db)
    assert item.id is not None
    stored = db.exec(select(Item).where(Item.id == item.id)).one()
    assert stored.title == item.title
    assert stored.owner.id == item.owner_id
