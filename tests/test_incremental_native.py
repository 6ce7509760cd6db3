"""native.plan skips its walk over every call when no import of the program can make a name of
the library a family converts (native._may_name): the index is then the one the walk gives,
on every golden input and project, with and without --migrate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from asyncfix.codemods import NAMES, native
from asyncfix.codemods.results import Settings
from asyncfix.codemods.scan import build_index, scan_source
from conftest import GOLDEN

INPUTS = sorted(
    str(p.relative_to(GOLDEN))
    for p in [
        *GOLDEN.glob("**/*.before"),
        *GOLDEN.glob("**/*.before.py"),
        *GOLDEN.glob("**/*.noop.py"),
    ]
)


def _index(root: Path, migrate: bool):
    settings = Settings(
        codemods=tuple(NAMES), root=str(root), options={"migrate": True} if migrate else {}
    )
    facts = {}
    for path in sorted(root.rglob("*.py")):
        reason, found = scan_source(path.read_bytes(), str(path), settings)
        if reason is None and found:
            facts[str(path)] = found
    return build_index(facts, settings)


@pytest.mark.parametrize("case", INPUTS)
def test_the_skip_gives_the_plan_of_the_walk(case, tmp_path, monkeypatch):
    source = GOLDEN / case
    root = tmp_path / "project"
    if source.is_dir():
        shutil.copytree(source, root)
    else:
        root.mkdir()
        shutil.copy(source, root / "module.py")
    for migrate in (False, True):
        skipped = _index(root, migrate)
        with monkeypatch.context() as patched:
            patched.setattr(native, "_may_name", lambda *args: True)
            walked = _index(root, migrate)
        assert skipped == walked, (case, migrate)


def test_only_an_import_that_can_name_the_library_keeps_the_walk(tmp_path):
    """``from starlette.requests import Request`` and ``from .requests import x`` inside a
    package cannot make ``requests.get``; ``import requests as r``, ``from requests import
    get`` and a relative import above a top-level module's package can."""
    from asyncfix.codemods.names import Resolver
    from asyncfix.codemods.results import MODULE_FACTS

    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    settings = Settings(codemods=tuple(NAMES), root=str(root))

    def may(files):
        facts = {}
        for name, text in files.items():
            path = root / name
            path.write_text(text)
            facts[str(path)] = scan_source(text.encode(), str(path), settings)[1][MODULE_FACTS]
        for name in files:
            (root / name).unlink()
        return native._may_name(facts, Resolver(facts, str(root)), "requests")

    assert not may({"app/a.py": "from starlette.requests import Request\n"})
    assert not may({"app/b.py": "from .requests import get\n"})
    assert may({"app/c.py": "import requests as r\n"})
    assert may({"app/d.py": "from requests import get\n"})
    assert may({"top.py": "from .requests import get\n"})
