import pytest

from app import services


def test_register_and_find_user():
    user = services.register_user("service@example.com", "Service")
    assert user.id is not None
    found = services.find_user(user.id)
    assert found is not None and found.name == "Service"
    with pytest.raises(services.DuplicateEmail):
        services.register_user("service@example.com", "Again")


def test_notes_for_unknown_user_are_refused():
    with pytest.raises(services.UnknownUser):
        services.write_note(987654, "orphan")


def test_write_and_list_notes():
    user = services.register_user("writer@example.com", "Writer")
    services.write_note(user.id, "one")
    services.write_note(user.id, "two")
    assert [note.body for note in services.notes_of(user.id)] == ["one", "two"]
