"""What an edit that moves a fact costs again (issue 20): the resolver's answers per call site,
memoised for every analysis of one build (names.Resolver), and the rewrites that look up a few
keys of a combined dict field (reads.py), which a key added elsewhere does not invalidate.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from typing import Dict, NamedTuple

from asyncfix.codemods import reads
from asyncfix.codemods.callgraph import collect_module
from asyncfix.codemods.names import Resolver
from asyncfix.codemods.program_facts import ProjectIndex
from conftest import GOLDEN

PROJECT = {
    "/p/app/__init__.py": "",
    "/p/app/repo.py": """\
        import time

        class Base:
            def load(self):
                return 1

        class Repo(Base):
            def save(self):
                time.sleep(1)

        class Other:
            def save(self):
                return 2
        """,
    "/p/app/service.py": """\
        from app.repo import Repo, Other
        from app import repo as r

        class Service:
            def __init__(self):
                self.repo = Repo()

            def run(self):
                self.save()
                self.repo.save()
                return self.repo.load()

            def save(self):
                return r.Other().save()

        class Second:
            def run(self):
                self.save()

            def save(self):
                pass

        def helper():
            def save():
                return 1
            save()
            Repo().save()
            missing.call()
        """,
}


def _modules(sources: Dict[str, str]):
    modules = {}
    for path, source in sources.items():
        text = textwrap.dedent(source)
        modules[path] = collect_module(ast.parse(text), path, text.encode())
    return modules


class _Unmemoised(Resolver):
    """The resolver as it was: every question answered again."""

    def call(self, path, owner, target, instance_of):
        return self._call(path, owner, target, instance_of)

    def qualify(self, path, owner, target, instance_of):
        return self._qualify(path, owner, target, instance_of)


def _questions(modules):
    for path in sorted(modules):
        for call in modules[path].calls:
            yield path, call.owner, call.target, call.instance_of
        for ref in modules[path].references:
            yield path, ref.owner, ref.target, ref.instance_of


def _golden_projects():
    """Every golden input as one program, and the synthetic project above."""
    sources = {}
    for before in sorted(GOLDEN.glob("*/*.py")):
        if before.name.endswith((".before.py", ".noop.py")):
            sources[f"/g/{before.parent.name}/{before.name.replace('.', '_')[:-3]}.py"] = (
                before.read_text()
            )
    return [PROJECT, sources]


def test_memoised_answers_are_the_answers_asked_again_in_any_order():
    for sources in _golden_projects():
        modules = _modules(sources)
        questions = list(_questions(modules))
        assert len(questions) > 10
        memoised = Resolver(modules, "/p")
        # twice, the second time backwards: each answer comes from the memo then
        first = [memoised.call(*q) for q in questions]
        again = [memoised.call(*q) for q in reversed(questions)][::-1]
        plain = _Unmemoised(modules, "/p")
        assert first == again == [plain.call(*q) for q in questions]
        assert [memoised.qualify(*q) for q in questions] == [plain.qualify(*q) for q in questions]


def test_the_memo_keeps_the_owner_and_the_instance_apart():
    """``self.save()`` in two classes, ``save()`` nested and module level, ``.save()`` on two
    types: one text, several answers (a memo keyed on less would mix them)."""
    modules = _modules(PROJECT)
    resolver = Resolver(modules, "/p")
    service = "/p/app/service.py"
    assert resolver.call(service, "Service.run", "self.save", "") == (
        service,
        "Service.save",
    )
    assert resolver.call(service, "Second.run", "self.save", "") == (
        service,
        "Second.save",
    )
    assert resolver.call(service, "helper", "save", "") == (
        service,
        "helper.<locals>.save",
    )
    assert resolver.call(service, "Service.run", "self.repo.save", "self.repo") == (
        "/p/app/repo.py",
        "Repo.save",
    )
    assert resolver.call(service, "Service.run", "self.repo.load", "self.repo") == (
        "/p/app/repo.py",
        "Base.load",
    )
    assert resolver.call(service, "helper", "missing.call", "") is None
    assert resolver.qualify("/p/app/repo.py", "Repo.save", "time.sleep", "") == "time.sleep"


class Cpu(NamedTuple):
    functions: Dict[str, int]
    local: Dict[str, Dict[str, int]]


@dataclasses.dataclass(frozen=True)
class Plan:
    calls: Dict[str, int]


def _index(functions=None, calls=None) -> ProjectIndex:
    functions = {"a.f": 1, "a.g": 2} if functions is None else functions
    return ProjectIndex(
        root="/p",
        facts={
            "cpu": Cpu(functions, {"/p/b.py": {"h": 3}}),
            "plan": Plan({"x": 1} if calls is None else calls),
        },
    )


def _reads(project: ProjectIndex, use) -> set:
    tracked = reads.tracked(project)
    tracked.start()
    use(tracked)
    return set(tracked.taken())


def test_a_dict_field_is_read_per_key():
    def use(project):
        cpu = project.get("cpu")
        assert cpu.functions.get("a.f") == 1 and cpu.functions["a.g"] == 2
        assert "a.h" not in cpu.functions and cpu.local.get("/p/b.py", {}).get("h") == 3
        assert project.get("plan").calls.get("y") is None

    taken = _reads(_index(), use)
    assert taken == {
        ("facts", "cpu", reads.KIND),
        ("facts", "cpu", "functions", "a.f"),
        ("facts", "cpu", "functions", "a.g"),
        ("facts", "cpu", "functions", "a.h"),
        ("facts", "cpu", "local", "/p/b.py"),
        ("facts", "plan", reads.KIND),
        ("facts", "plan", "calls", "y"),
    }
    before, moved = _index(), _index(functions={"a.f": 1, "a.g": 2, "a.z": 9})
    # a key added that no read looked up: every read sees the same
    assert all(reads.value_of(r, before) == reads.value_of(r, moved) for r in taken)
    for changed in (
        _index(functions={"a.f": 5, "a.g": 2}),  # a key's value moved
        _index(functions={"a.g": 2}),  # a key read removed
        _index(functions={"a.f": 1, "a.g": 2, "a.h": 0}),  # a key looked up in vain added
        _index(calls={"x": 1, "y": None}),  # present with the value a miss gave: still moved
    ):
        assert any(reads.value_of(r, before) != reads.value_of(r, changed) for r in taken)


def test_any_other_use_of_a_dict_field_reads_it_whole():
    field = ("facts", "cpu", "functions")
    for use in (
        list,
        len,
        bool,
        dict,
        lambda f: list(f.items()),
        lambda f: list(f.values()),
        lambda f: list(f.keys()),
        lambda f: {**f},
        lambda f: f == {"a.f": 1},
    ):
        assert field in _reads(_index(), lambda p: use(p.get("cpu").functions))
    assert reads.value_of(field, _index()) != reads.value_of(
        field, _index(functions={"a.f": 1, "a.g": 2, "a.z": 9})
    )
    # dataclasses.replace and asdict read every field
    plan = _reads(_index(), lambda p: dataclasses.replace(p.get("plan")))
    assert ("facts", "plan", "calls") in plan
    # a field that is no dict in the new index: the per-key read sees that
    read = ("facts", "plan", "calls", "x")
    assert reads.value_of(read, _index()) != reads.value_of(
        read, ProjectIndex(root="/p", facts={"plan": Plan(None)})  # type: ignore[arg-type]
    )


def test_the_view_gives_the_values_themselves():
    def use(project):
        functions = project.get("cpu").functions
        assert dict(functions) == {"a.f": 1, "a.g": 2}
        assert sorted(functions.items()) == [("a.f", 1), ("a.g", 2)]
        assert {**functions} == {"a.f": 1, "a.g": 2} and len(functions) == 2
        assert functions.get("nope", 7) == 7

    _reads(_index(), use)
