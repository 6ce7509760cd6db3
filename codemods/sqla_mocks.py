"""Test doubles that replace what the SQLAlchemy conversion renames: closure or nothing.

A test's ``patch("app.prestart.Session", return_value=session_mock)`` replaces the sync Session
where that module reads it, and configures the double for it (``__enter__``, ``exec`` returning a
value). The conversion makes that module read ``AsyncSession`` (``async with``, ``await
session.exec(...)``): the patch then fails (the module has no ``Session`` any more), or, when the
name stays bound, replaces nothing the code uses and the test reaches a real database. A patch of
the library's own name (``patch("sqlmodel.Session")``) likewise, and a patch of a shared engine
or session factory (``patch("app.db.engine", test_engine)``) hands the converted code a sync one.
Each would make a passing test fail, so each blocks the conversion (SQLA008 on the engine names
the test and the target). The double's configuration is the test's own: asyncfix does not guess
its async twin (first found on fastapi/full-stack-fastapi-template's prestart tests).
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple

from .program_facts import Program
from .sqla_facts import CLOSURE, Site

# names the conversion replaces where a module imports them from the libraries
RENAMED = frozenset({"Session", "sessionmaker", "create_engine", "scoped_session"})
LIBRARIES = frozenset({"sqlalchemy", "sqlmodel"})


def replaced(program: Program, inputs: Mapping[str, Any]) -> List[Tuple[str, Site]]:
    """(test file, where it replaces a converted name) for every such patch target."""
    out: List[Tuple[str, Site]] = []
    for path in sorted(program.modules):
        for target in sorted(program.modules[path].mocked):
            module, _, name = target.rpartition(".")
            if module and _converted(program, inputs, path, module, name):
                line = _line_of(path, target)
                out.append(
                    (
                        path,
                        Site(
                            line,
                            1,
                            CLOSURE,
                            f"a test replaces `{target}`, which the conversion makes async "
                            "(the double is configured for the sync object)",
                        ),
                    )
                )
    return out


def _converted(
    program: Program, inputs: Mapping[str, Any], importer: str, module: str, name: str
) -> bool:
    if module.split(".")[0] in LIBRARIES:
        return name in RENAMED
    where: Optional[str] = program.resolver.module(module, importer)
    if where is None or where not in program.modules:
        return False
    if name in RENAMED and any(
        entry.local == name and not entry.level and entry.module.split(".")[0] in LIBRARIES
        for entry in program.modules[where].imported
    ):
        return True
    fact = inputs.get(where)
    return any(shared.name == name for shared in getattr(fact, "shared", ()))


def _line_of(path: str, target: str) -> int:
    """The line of the first mention of the patch target (the facts keep targets, not lines)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if target in text:
                    return number
    except OSError:
        pass
    return 1
