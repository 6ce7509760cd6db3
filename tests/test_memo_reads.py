"""What a rewrite reads of the index (codemods/reads.py), the kept rewrites keyed on it
(codemods/memo.py) and the kept index (codemods/kept_index.py): reused only when right."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, FrozenSet, NamedTuple

import pytest
from asyncfix.codemods import cache, engine, kept_index, reads
from asyncfix.codemods.program_facts import FileActions, ProjectIndex
from test_cache import HELPER, _rewritten, _run, _tree

AWAITED = "from helper import fetch\n\n\nasync def use():\n    return await fetch()\n"


class Combined(NamedTuple):
    functions: Dict[str, int]
    names: FrozenSet[str]


@dataclasses.dataclass(frozen=True)
class Plan:
    calls: Dict[str, int]
    flag: bool = False


def _index(**changes) -> ProjectIndex:
    values = dict(
        root="/p",
        facts={
            "cpu": Combined({"a.f": 1}, frozenset({"f"})),
            "plan": Plan({"x": 1}),
            "raw": {1: 2},
        },
        actions={"/p/a.py": FileActions(make_async=frozenset({(1, "f")}))},
        async_names={"/p/a.py": frozenset({"g"})},
        blocking="plan",
    )
    values.update(changes)
    return ProjectIndex(**values)


def _reads(project: ProjectIndex, use) -> set:
    tracked = reads.tracked(project)
    tracked.start()
    use(tracked)
    return set(tracked.taken())


def test_a_field_read_is_recorded_and_the_view_is_the_value():
    def use(project):
        cpu = project.get("cpu")
        assert isinstance(cpu, Combined) and "f" in cpu.names
        assert project.facts.get("missing") is None

    taken = _reads(_index(), use)
    assert taken == {
        ("facts", "cpu", reads.KIND),
        ("facts", "cpu", "names"),
        ("facts", "missing", reads.KIND),
    }


def test_other_uses_of_a_value_read_it_whole():
    whole = ("facts", "cpu", reads.WHOLE)
    assert whole in _reads(_index(), lambda p: p.get("cpu")[0])
    assert whole in _reads(_index(), lambda p: list(p.get("cpu")))
    assert whole in _reads(_index(), lambda p: p.get("cpu")._asdict())
    for use in (repr, str, lambda v: 1 in v, lambda v: v == v, lambda v: v + ()):
        assert whole in _reads(_index(), lambda p: use(p.get("cpu")))
    with pytest.raises(TypeError):  # a dict field: unhashable, and read before it says so
        _reads(_index(), lambda p: hash(p.get("cpu")))
    assert ("facts", "raw", reads.WHOLE) in _reads(_index(), lambda p: p.get("raw")[1])
    plan = _reads(_index(), lambda p: (p.get("plan").calls, dataclasses.replace(p.get("plan"))))
    assert ("facts", "plan", "calls") in plan and ("facts", "plan", "flag") in plan


def test_per_path_reads_and_the_index_methods():
    taken = _reads(
        _index(), lambda p: (p.coroutine_names("/p/b.py"), p.becomes_async("/p/a.py", 1, "f"))
    )
    assert taken == {("actions", "/p/b.py"), ("async_names", "/p/b.py"), ("actions", "/p/a.py")}
    assert _reads(_index(), lambda p: bool(p.actions)) == {("actions", reads.ANY)}
    assert _reads(_index(), lambda p: dict(p.actions)) >= {("actions", reads.WHOLE)}
    assert _reads(_index(), lambda p: p.blocking) == {("blocking",)}
    assert _reads(_index(async_names=None), lambda p: p.coroutine_names("/p/a.py")) >= {
        ("async_names", reads.WHOLE)
    }


@pytest.mark.parametrize(
    "read, changed, same",
    [
        (("facts", "cpu", "names"), {"functions": {"a.f": 2}}, True),
        (("facts", "cpu", "names"), {"names": frozenset({"f", "h"})}, False),
        (("facts", "cpu", reads.WHOLE), {"functions": {"a.f": 2}}, False),
        (("facts", "cpu", reads.KIND), {"names": frozenset()}, True),
    ],
)
def test_what_a_read_sees(read, changed, same):
    before = _index()
    after = _index(facts={**before.facts, "cpu": before.facts["cpu"]._replace(**changed)})
    assert (reads.value_of(read, before) == reads.value_of(read, after)) is same


def test_what_a_read_sees_of_paths_and_missing_mappings():
    before = _index()
    moved = _index(actions={"/p/b.py": FileActions(make_async=frozenset({(2, "g")}))})
    assert reads.value_of(("actions", "/p/a.py"), before) != reads.value_of(
        ("actions", "/p/a.py"), moved
    )
    assert reads.value_of(("actions", "/p/c.py"), before) == reads.value_of(
        ("actions", "/p/c.py"), moved
    )
    assert reads.value_of(("actions", reads.ANY), before) == reads.value_of(
        ("actions", reads.ANY), moved
    )
    # no coroutine names collected is not "none for this path"
    none = _index(async_names=None)
    assert reads.value_of(("async_names", "/p/c.py"), before) != reads.value_of(
        ("async_names", "/p/c.py"), none
    )
    assert reads.value_of(("facts", "gone", reads.KIND), before) != reads.value_of(
        ("facts", "cpu", reads.KIND), before
    )


def test_first_pass_results_compare_by_value_not_by_set_order():
    assert kept_index.same(
        (None, {"a": frozenset({"x", "y"})}), (None, {"a": frozenset({"y", "x"})})
    )
    assert not kept_index.same({"a": 1, "b": 2}, {"b": 2, "a": 1})  # dict order can matter
    assert not kept_index.same((1,), (True,))
    assert not kept_index.same(Plan({"x": 1}), Plan({"x": 2}))
    assert kept_index.same(Plan({"x": 1}), Plan({"x": 1}))
    assert not kept_index.same(object(), object())  # cannot compare: not the same


def _builds(monkeypatch) -> list:
    built: list = []
    original = engine.build_index

    def counting(facts, settings):
        built.append(len(facts))
        return original(facts, settings)

    monkeypatch.setattr(engine, "build_index", counting)
    return built


def test_an_edit_that_changes_no_fact_reuses_the_index(tmp_path: Path, monkeypatch):
    """A comment added: the index is not built again, no other file's facts are loaded, and
    the edited file alone is rewritten; a fact moved (a function added): the index is built
    again, and only the files whose reads saw something else are rewritten. Each run prints
    what a run without the cache prints."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "helper.py").write_text(HELPER)
    (project / "caller.py").write_text(AWAITED)
    (project / "other.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()\n")
    built, rewritten = _builds(monkeypatch), _rewritten(monkeypatch)
    loaded: list = []
    original = cache.load

    def load(directory, path, source):
        loaded.append(Path(path).name)
        return original(directory, path, source)

    monkeypatch.setattr(cache, "load", load)
    assert "0 would change" in _run(project).output
    assert built == [3] and sorted(rewritten) == ["caller.py", "helper.py", "other.py"]
    built.clear(), rewritten.clear(), loaded.clear()
    (project / "other.py").write_text((project / "other.py").read_text() + "# a comment\n")
    kept = _run(project)
    assert built == [] and rewritten == ["other.py"] and set(loaded) == {"other.py"}
    added = "\n\ndef added():\n    return 1\n"
    (project / "other.py").write_text((project / "other.py").read_text() + added)
    rewritten.clear()
    moved = _run(project)
    assert built == [3] and rewritten == ["other.py"]
    monkeypatch.undo()
    assert kept.output == _run(project, "--no-cache").output
    assert moved.output == _run(project, "--no-cache").output


def test_later_rounds_reuse_their_kept_index(tmp_path: Path, monkeypatch):
    """A tree with a rewrite not yet applied (round 1 changes sleepy.py, round 2 builds the
    index of the rewritten text): after a comment added elsewhere, both rounds' indexes are
    the kept ones; after the pending file itself changes (by a constant, no fact: round 1's
    index holds), round 2's is built again: its rewritten text is another."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    built = _builds(monkeypatch)
    first = _run(project)
    assert len(built) == 2
    built.clear()
    (project / "helper.py").write_text((project / "helper.py").read_text() + "# x\n")
    again = _run(project)
    assert built == [] and again.output.replace("# x\n", "") == first.output.replace("# x\n", "")
    (project / "sleepy.py").write_text((project / "sleepy.py").read_text() + "\nLATE = 1\n")
    moved = _run(project)
    assert len(built) == 1
    monkeypatch.undo()
    assert again.output != moved.output
    assert moved.output == _run(project, "--no-cache").output


def test_a_changed_fact_after_a_kept_index_is_seen(tmp_path: Path, monkeypatch):
    """helper.fetch made sync after a run that reused the index: caller.py loses its await."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    first = _run(project)
    assert "return await fetch()" in first.output
    (project / "helper.py").write_text((project / "helper.py").read_text() + "# x\n")
    assert "return await fetch()" in _run(project).output
    (project / "helper.py").write_text("def fetch():\n    return 1\n")
    result = _run(project)
    assert "await fetch()" not in result.output and "caller.py" not in result.output
    monkeypatch.undo()
    assert result.output == _run(project, "--no-cache").output
