"""The program model every codemod reads: one reading of a module's imports and opt-out
comments (callgraph.py), and the whole-program step of the Codemod protocol (analyse), through
which the await analysis reaches the index like any other codemod's decision."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from asyncfix.codemods import REGISTRY, cpu_cost, requests_mocks
from asyncfix.codemods.base import Codemod
from asyncfix.codemods.callgraph import collect_module
from asyncfix.codemods.dependency_facts import FileNames
from asyncfix.codemods.engine import Settings, transform_standalone
from asyncfix.codemods.first_pass import FirstPass
from asyncfix.codemods.gates import GATE_BY_NAME
from asyncfix.codemods.program_facts import Import, absolute_imports, import_paths
from asyncfix.codemods.propagate import combine_all
from asyncfix.codemods.reduce import _reduce
from asyncfix.codemods.scan import build_index, scan_source
from asyncfix.codemods.sqla_index import FileIndex

REPO = Path(__file__).resolve().parent.parent
# The engine's modules: what runs a codemod must not know any codemod by name.
ENGINE = (
    "engine.py",
    "scan.py",
    "reduce.py",
    "rewrite.py",
    "transform.py",
    "first_pass.py",
    "workers.py",
    "results.py",
    "memo.py",
    "phases.py",
    "cache.py",
)
PROGRAM = (
    "propagate.py",
    "names.py",
    "callgraph.py",
    "callgraph_calls.py",
    "program_facts.py",
    "astwalk.py",
)


def facts(source: str, path: str = "/p/app/mod.py"):
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    return tree, collect_module(tree, path, source.encode())


def test_every_import_is_read_once_with_where_it_stands():
    _, module = facts("""\
        import a.b
        import a.b as c
        from ..m import x as y
        from . import z

        def test_it():
            from responses import *
        """)
    assert module.imported == (
        Import(0, "a.b", "", "", 1, 0),
        Import(0, "a.b", "", "c", 2, 0),
        Import(2, "m", "x", "y", 3, 0),
        Import(1, "", "z", "", 4, 0),
        Import(0, "responses", "*", "", 7, 4, "test_it"),
    )
    assert [entry.local for entry in module.imported] == ["a", "c", "y", "z", "*"]
    assert import_paths(module.imported) == {"a": {"a"}, "c": {"a.b"}, "y": {"..m.x"}, "z": {".z"}}
    assert absolute_imports(module.imported) == {"a": "a", "c": "a.b", "*": "responses.*"}
    # The last binding of each name, as the resolver reads it.
    assert module.imports == {
        "a": (0, "a", ""),
        "c": (0, "a.b", ""),
        "y": (2, "m", "x"),
        "z": (1, "", "z"),
    }


def test_the_import_readers_of_the_codemods_read_the_collectors_facts():
    tree, module = facts("""\
        import requests as r
        from .models import Session
        from requests import get as fetch

        def load():
            import json
            return json.loads(fetch("u").text)
        """)
    # dependency_close: absolute names, relative ones kept for combine()
    names = FileNames(tree, module)
    assert names.imports == {
        "r": "requests",
        "Session": ".models.Session",
        "fetch": "requests.get",
        "json": "json",
    }
    assert names.raw(ast.parse("r.get").body[0].value) == "requests.get"
    # cpu_to_executor: the function-level import counts too (the last binding of each name)
    found = cpu_cost.scan(tree, b"", module)
    assert found["imports"]["json"] == (0, "json", None)
    assert found["imports"]["Session"] == (1, "models", "Session")
    # requests_to_httpx: the requests names come from the same facts
    collector = requests_mocks._Collector(module)
    collector.visit(tree)
    assert collector.requests_names == {"r"}
    assert collector.requests_functions == {"fetch": "requests.get"}
    # sqlalchemy_to_async: absolute names, and the imports that may name project code
    index = FileIndex(tree, "/p/app/mod.py", b"", module)
    assert index.imports == {"r": "requests", "fetch": "requests.get", "json": "json"}
    assert index.project_imports == {"Session": (1, "models", "Session")}


def test_a_mocking_library_imported_in_a_test_names_that_test():
    tree, module = facts(
        """\
        import requests

        def test_fetch():
            import responses
            requests.get("u")
        """,
        path="/p/tests/test_mod.py",
    )
    found = requests_mocks.collect(tree, module)
    assert found is not None
    (site,) = found.mocks
    assert (site.line, site.column, site.test, site.api) == (4, 4, "test_fetch", "requests")


def test_opt_out_comments_name_the_codemods_they_silence():
    _, module = facts("""\
        a = 1  # asyncfix: ignore
        b = 2  # asyncfix: ignore[await_coroutines, sleep_to_asyncio]
        c = 3  # asyncfix: ignore[sleep_to_asyncio]
        d = 4
        """)
    assert module.opted_out == {1, 2, 3}
    assert [module.silenced(line, "await_coroutines") for line in (1, 2, 3, 4)] == [
        True,
        True,
        False,
        False,
    ]


def test_the_engine_names_no_codemod():
    names = [codemod.NAME for codemod in REGISTRY] + [c.__name__ for c in REGISTRY]
    for module in (*ENGINE, *PROGRAM):
        text = (REPO / "codemods" / module).read_text()
        assert "AWAIT_CODEMOD" not in text, module
        assert [name for name in names if name in text] == [], module


def test_the_await_analysis_reaches_the_index_through_analyse(tmp_path, monkeypatch):
    source = b"async def f():\n    pass\n\n\ndef g():\n    f()\n"
    path = str(tmp_path / "mod.py")
    settings = Settings(codemods=("await_coroutines",), root=str(tmp_path))
    _, per_file = scan_source(source, path, settings)
    assert build_index({path: per_file}, settings).actions[path].make_async == {(5, "g")}
    # Without its analyse() step, nothing is decided for the await codemod to apply.
    gate = GATE_BY_NAME["await_coroutines"]  # the index is built with the gates
    monkeypatch.setattr(gate, "analyse", classmethod(FirstPass.analyse.__func__))
    assert build_index({path: per_file}, settings).actions == {}


def test_an_analysis_that_drops_seeds_makes_those_before_it_run_again():
    # SqlalchemyToAsync.analyse refuses a conversion the await analysis cannot complete and drops
    # its seeds: the await analysis (before it) must run again without them, and only then.
    runs = []

    class Reads(Codemod):
        NAME = "reads"

        @classmethod
        def analyse(cls, program):
            runs.append(list(program.seeds))

    class Drops(Codemod):
        NAME = "drops"

        @classmethod
        def combine(cls, facts, root):
            return "converting"

        @classmethod
        def async_seeds(cls, combined):
            return [("/p/app/mod.py", "f")]

        @classmethod
        def analyse(cls, program):
            program.seeds = []  # the second time round it changes nothing

    _, module = facts("def f():\n    pass\n")
    combine_all({"/p/app/mod.py": {}}, [Reads, Drops], "/p", {"/p/app/mod.py": module})
    assert runs == [[("/p/app/mod.py", "f")], []]


def test_a_big_file_is_reduced_to_the_defs_the_await_analysis_changes():
    # The reduction keeps what reduction_lines() names (a def made async, a call awaited),
    # found by position: their text holds no token of the codemod.
    filler = "".join(f"def unrelated_{i}():\n    return {i}\n\n\n" for i in range(600))
    source = (
        "async def fetch():\n    return 1\n\n\n" + filler + "def caller():\n    return fetch()\n"
    )
    path = "/p/big.py"
    settings = Settings(codemods=("await_coroutines",), root="/p")
    _, per_file = scan_source(source.encode(), path, settings)
    project = build_index({path: per_file}, settings)
    reduction = _reduce(source, REGISTRY[:1], project, path)
    assert reduction is not None
    assert "def caller():\n    return fetch()" in reduction.text
    assert "unrelated_" not in reduction.text
    outcome = transform_standalone(source.encode(), path, settings)
    assert outcome.new.decode() == source.replace(
        "def caller():\n    return fetch()", "async def caller():\n    return await fetch()"
    )
