"""imports.place: new imports go where isort puts them; lines asyncfix rewrote in place stay."""

from __future__ import annotations

from pathlib import Path

from asyncfix.codemods import imports

OLD = (
    "import uuid\n"
    "from typing import Any\n\n"
    "from sqlmodel import Session, select\n\n"
    "from app.models import User\n\n\n"
    "def get(session: Session, uid: Any) -> User:\n"
    "    return session.exec(select(User)).first()\n"
)
# what the codemods hand over: the old sqlmodel line lost `Session` in place, and the new
# import was appended after the last import
NEW = (
    "import uuid\n"
    "from typing import Any\n\n"
    "from sqlmodel import select\n\n"
    "from app.models import User\n"
    "from sqlmodel.ext.asyncio.session import AsyncSession\n\n\n"
    "async def get(session: AsyncSession, uid: Any) -> User:\n"
    "    return (await session.exec(select(User))).first()\n"
)
PLACED = (
    "import uuid\n"
    "from typing import Any\n\n"
    "from sqlmodel import select\n"
    "from sqlmodel.ext.asyncio.session import AsyncSession\n\n"
    "from app.models import User\n\n\n"
    "async def get(session: AsyncSession, uid: Any) -> User:\n"
    "    return (await session.exec(select(User))).first()\n"
)


def test_a_line_rewritten_in_place_stays_and_the_new_import_joins_its_section(tmp_path: Path):
    # fastapi/full-stack-fastapi-template's crud.py: the rewritten line used to move too,
    # leaving two blank lines where it stood
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    path = str(tmp_path / "app" / "crud.py")
    assert imports.place(OLD, NEW, path, str(tmp_path), imports.Style()) == PLACED
