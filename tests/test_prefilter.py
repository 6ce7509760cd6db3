"""The demand-driven first pass (codemods/prefilter.py) may only save work: every golden project
and real trees come out the same, diffs and diagnostics, with and without it."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.util
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from asyncfix.codemods import engine, prefilter
from asyncfix.codemods.files import DEFAULT_EXCLUDES, discover
from conftest import DEFAULT_SETTINGS, GOLDEN

REALCODE = Path("/work/realcode")


def _outcome(paths: List[Path], root: Path, monkeypatch, on: bool) -> Tuple[list, int]:
    monkeypatch.setenv("ASYNCFIX_PREFILTER", "1" if on else "0")
    settings = dataclasses.replace(DEFAULT_SETTINGS, root=str(root), written=False)
    files, missing = discover([str(p) for p in paths], DEFAULT_EXCLUDES)
    assert not missing
    results = [
        (r.display, r.status, r.error, r.diff, [d.format() for d in r.diagnostics])
        for r in engine.run(files, settings, jobs=1)
    ]
    return results, int(engine.PHASES.get("files collected", len(files)))


# The prefilter-off run with the gates closed, which every claim of this file compares with:
# made once per tree state ((root, the files' paths and bytes) -> its results), for the
# prefilter's claim and the gates' alike (SPREAD in tests/conftest.py keeps the tests of one
# project on one worker).
_REFERENCES: Dict[Tuple[str, str], Tuple[list, int]] = {}


def _reference(paths: List[Path], root: Path, monkeypatch) -> Tuple[list, int]:
    files, _ = discover([str(p) for p in paths], DEFAULT_EXCLUDES)
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.display}\0{file.path}\0".encode())
        digest.update(hashlib.sha256(Path(file.path).read_bytes()).digest())
    key = (str(root), digest.hexdigest())
    if key not in _REFERENCES:
        _REFERENCES[key] = _outcome(paths, root, monkeypatch, on=False)
    results, count = _REFERENCES[key]
    return copy.deepcopy(results), count


def _same(paths: List[Path], root: Path, monkeypatch) -> Tuple[int, int]:
    without, everything = _reference(paths, root, monkeypatch)
    with_, collected = _outcome(paths, root, monkeypatch, on=True)
    assert with_ == without
    return collected, everything


def _singles(codemod: Path) -> List[Path]:
    return sorted([*codemod.glob("*.before.py"), *codemod.glob("*.noop.py")])


def _codemods() -> List[Path]:
    return sorted(p for p in GOLDEN.iterdir() if p.is_dir())


def _projects() -> List[Tuple[str, List[Path]]]:
    """Each multi-module case; all of a codemod's single-file cases as one project (names meet
    across files); and, as a user runs it on one file, each single-file case the prefilter
    would not collect alone. One that it collects alone (a seed: every golden case today) it
    collects in its folder too (test_a_golden_case_alone_is_collected_as_in_its_folder checks
    it for every case); the one other thing the prefilter switches, app_graph._complete (is
    every project import of a module a collected file?), sees the case's imports resolve
    alike there: the same root, and a ``<case>.before.py`` is no module another case can
    import. So the folder's run compares what its own run would."""
    projects = []
    for folder in sorted(GOLDEN.glob("*/*.before")):  # multi-module cases
        projects.append((f"{folder.parent.name}/{folder.name}", [folder]))
    for codemod in _codemods():
        singles = _singles(codemod)
        for single in singles:
            if not prefilter.is_seed(single.read_bytes()):
                projects.append((f"{codemod.name}/{single.name}", [single]))
        projects.append((f"{codemod.name}/*", singles))
    return projects


@pytest.mark.parametrize("name,paths", _projects(), ids=[name for name, _ in _projects()])
def test_golden_projects_come_out_the_same(name: str, paths: List[Path], monkeypatch):
    root = paths[0] if paths[0].is_dir() else paths[0].parent
    _same(paths, root, monkeypatch)


def _collected(paths: List[Path], root: Path, monkeypatch) -> Dict[str, bool]:
    """The prefilter's decision (first pass only, no rewrite): file -> collected."""
    from asyncfix.codemods import scan

    monkeypatch.setenv("ASYNCFIX_PREFILTER", "1")
    settings = dataclasses.replace(DEFAULT_SETTINGS, root=str(root), written=False)
    files, _ = discover([str(p) for p in paths], DEFAULT_EXCLUDES)
    scans = scan.first_pass(files, settings, 1)
    return {file.path: facts is not None for file, (_, facts, _) in zip(files, scans)}


@pytest.mark.parametrize("codemod", _codemods(), ids=lambda p: p.name)
def test_a_golden_case_alone_is_collected_as_in_its_folder(codemod: Path, monkeypatch):
    """The rule _projects() leaves single-file runs out by: a case the prefilter collects
    alone, it collects in its folder's run."""
    singles = _singles(codemod)
    in_folder = _collected(singles, codemod, monkeypatch)
    for single in singles:
        alone = _collected([single], codemod, monkeypatch)
        assert list(alone.values()) == [prefilter.is_seed(single.read_bytes())]
        if alone[str(single)]:
            assert in_folder[str(single)], single


@pytest.mark.parametrize(
    "repo",
    (
        sorted(p.parent.name for p in REALCODE.glob("*/pristine") if any(p.rglob("*.py")))
        if REALCODE.is_dir()
        else []
    ),
)
def test_real_code_comes_out_the_same(repo: str, monkeypatch):
    tree = REALCODE / repo / "pristine"
    _same([tree], tree, monkeypatch)


def test_installed_libraries_come_out_the_same(tmp_path: Path, monkeypatch):
    """A real tree: async libraries and a sync one (their installed sources, copied: a real
    root). Most of their files hold async code, so most are collected: the point is the
    output."""
    import shutil

    for package in ("httpx", "starlette", "click"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations
        source = list(spec.submodule_search_locations)[0]
        shutil.copytree(source, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    _same([tmp_path], tmp_path, monkeypatch)


def test_identifiers_are_whole_names_as_text():
    names = prefilter.identifiers("def caf\u00e9(x):\n    return x.y_2  # z\n".encode())
    assert {"def", "caf\u00e9", "x", "y_2", "z", "return"} <= names
    assert "caf" not in names


def test_bindings_are_where_an_import_can_reach_a_name():
    source = b"import a.b as c, d\nfrom m import (x,\n   y as z)\ndef f(): pass\nclass K(B): ...\n  t1, t2 = 3\nv: int = 4\nif a == b: g(h)\n"
    assert prefilter.bindings(source) == {
        "a",
        "b",
        "as",
        "c",
        "d",
        "x",
        "y",
        "z",
        "f",
        "K",
        "t1",
        "t2",
        "v",
    }


def test_seeds_are_files_with_async_code_or_a_whole_program_token():
    assert prefilter.is_seed(b"async def f(): ...")
    assert prefilter.is_seed(b"from sqlalchemy.orm import Session")
    assert not prefilter.is_seed(b"def f():\n    return 1\n")


def test_a_sync_caller_of_a_coroutine_in_another_file_is_collected(tmp_path: Path, monkeypatch):
    """Up the call graph: `use` in a file without `async` calls a coroutine: it is collected
    (and made async), and a file that calls neither is not."""
    (tmp_path / "helper.py").write_text("async def fetch():\n    return 1\n")
    (tmp_path / "caller.py").write_text(
        "from helper import fetch\n\n\ndef use():\n    return fetch()\n"
    )
    (tmp_path / "other.py").write_text("def unrelated():\n    return 2\n")
    collected, everything = _same([tmp_path], tmp_path, monkeypatch)
    assert (collected, everything) == (2, 3)
    results, _ = _outcome([tmp_path], tmp_path, monkeypatch, on=True)
    assert "+    return await fetch()" in {r[0]: r[3] for r in results}[str(tmp_path / "caller.py")]


def test_a_blocking_helper_two_files_down_is_collected(tmp_path: Path, monkeypatch):
    """Down the call graph: a coroutine calls a sync helper that calls another that sleeps."""
    (tmp_path / "app.py").write_text(
        "from service import work\n\n\nasync def route():\n    return work()\n"
    )
    (tmp_path / "service.py").write_text("from low import nap\n\n\ndef work():\n    return nap()\n")
    (tmp_path / "low.py").write_text("import time\n\n\ndef nap():\n    time.sleep(1)\n")
    (tmp_path / "other.py").write_text("import time\n\n\ndef idle():\n    time.sleep(1)\n")
    collected, everything = _same([tmp_path], tmp_path, monkeypatch)
    assert (collected, everything) == (3, 4)


def test_the_prefilter_is_opt_in_and_never_with_migrate(monkeypatch):
    monkeypatch.delenv("ASYNCFIX_PREFILTER", raising=False)
    assert not prefilter.enabled({})
    monkeypatch.setenv("ASYNCFIX_PREFILTER", "1")
    assert prefilter.enabled({})
    assert not prefilter.enabled({"migrate": True})


# -- the gates that keep files out of libcst only save work ----------------------------------
# Each gate decides on the ``ast`` (first pass or wants()) that a codemod has nothing to do in a
# file, so that libcst never parses it. Opened (every file its byte check lets through reaches
# libcst, the old way), every project must come out the same, diffs and diagnostics.


def _open_gates(monkeypatch) -> None:
    from asyncfix.codemods import fact_gates

    # dependency_close: the functions _plan acts on, judged on the ast (has_yield_site, and in
    # the first pass yield_sites, which also asks for @contextmanager or a dependency), by its
    # gate (fact_gates.DependencyCloseGate)
    monkeypatch.setattr(fact_gates, "has_yield_site", lambda tree: True)
    monkeypatch.setattr(fact_gates, "yield_sites", lambda *args: (True, ()))


def _gated_same(paths: List[Path], root: Path, monkeypatch) -> None:
    gated, _ = _reference(paths, root, monkeypatch)
    with monkeypatch.context() as patch:
        _open_gates(patch)
        opened, _ = _outcome(paths, root, patch, on=False)
    assert gated == opened


def _whole_projects() -> List[Tuple[str, List[Path]]]:
    return [(name, paths) for name, paths in _projects() if not name.endswith(".py")]


@pytest.mark.parametrize(
    "name,paths", _whole_projects(), ids=[name for name, _ in _whole_projects()]
)
def test_gates_golden_projects_come_out_the_same(name: str, paths: List[Path], monkeypatch):
    root = paths[0] if paths[0].is_dir() else paths[0].parent
    _gated_same(paths, root, monkeypatch)


@pytest.mark.parametrize(
    "repo",
    (
        sorted(p.parent.name for p in REALCODE.glob("*/pristine") if any(p.rglob("*.py")))
        if REALCODE.is_dir()
        else []
    ),
)
def test_gates_real_code_comes_out_the_same(repo: str, monkeypatch):
    tree = REALCODE / repo / "pristine"
    _gated_same([tree], tree, monkeypatch)


def test_gates_installed_libraries_come_out_the_same(tmp_path: Path, monkeypatch):
    """Libraries full of generators and context managers (yield in a try, released in
    finally, handlers that do not re-raise): the shapes the dependency_close gate reads."""
    import shutil

    for package in ("httpx", "starlette", "click", "fastapi"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations
        source = list(spec.submodule_search_locations)[0]
        shutil.copytree(source, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    spec = importlib.util.find_spec("sqlalchemy")
    assert spec is not None and spec.submodule_search_locations
    testing = Path(list(spec.submodule_search_locations)[0]) / "testing"
    shutil.copytree(
        testing, tmp_path / "sqla_testing", ignore=shutil.ignore_patterns("__pycache__")
    )
    _gated_same([tmp_path], tmp_path, monkeypatch)


def _sites(source: str):
    import ast as ast_module

    from asyncfix.codemods.callgraph import collect_module
    from asyncfix.codemods.dependency_yields import has_yield_site, yield_sites

    data = source.encode()
    tree = ast_module.parse(data)
    found = yield_sites(tree, data, collect_module(tree, "m.py", data).imported)
    assert has_yield_site(tree) or not (found[0] or found[1])  # the fallback: a superset
    return found


@pytest.mark.parametrize(
    "source, expected",
    [
        # a context manager through an aliased import; also a module-level function
        (
            "from contextlib import contextmanager as cm\n@cm\ndef f(p):\n    x = open(p)\n"
            "    yield x\n",
            (True, ("f",)),
        ),
        # already released in finally: nothing to do
        (
            "import contextlib\n@contextlib.contextmanager\ndef f(p):\n    x = open(p)\n"
            "    try:\n        yield x\n    finally:\n        x.close()\n",
            (False, ()),
        ),
        # a nested def's yield is not the outer def's: it still has one
        (
            "def outer(p):\n    x = open(p)\n    def inner():\n        yield 1\n    yield x\n",
            (False, ("outer",)),
        ),
        # an except that swallows (DEP002 for a dependency), whatever is yielded
        (
            "class C:\n    def dep(self):\n        db = S()\n        try:\n            yield db\n"
            "        except E:\n            pass\n",
            (False, ("C.dep",)),
        ),
        # neither a context manager nor where a dependency can be (inside an `if`)
        ("if X:\n    def f(p):\n        x = open(p)\n        yield x\n", (False, ())),
        # a yielded name that no call created
        ("def f(x):\n    yield x\n", (False, ())),
    ],
)
def test_yield_sites_are_what_dependency_close_acts_on(source: str, expected):
    assert _sites(source) == expected
