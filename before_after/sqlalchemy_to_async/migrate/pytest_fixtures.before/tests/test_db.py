from app.db import count_rows, engine, ping


def test_ping():
    assert ping(engine) == 1


def test_count_rows(db):
    assert count_rows(db) >= 0
