"""A split CLI command that must import the engine to dispose it, in a module where the engine's
name is already bound: the first pass refuses (SQLA002, sqla_commands.command_engines), for
every way Python binds a module-level name, so the transform never has to check the name itself.

``module_bindings`` (bindings.py) is what the first pass knows of a module's names; the end-to-end cases run
``--migrate`` on a small project and check the file is left as it was, with the first pass's
diagnostic and not the transform's (SQLA007, "bound to something else here").
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from asyncfix.codemods.bindings import module_bindings
from asyncfix.codemods.config import asyncfix_options, load_pyproject
from asyncfix.codemods.engine import CHANGED, FAILED, run
from asyncfix.codemods.files import discover
from conftest import DEFAULT_SETTINGS

MIGRATE = dataclasses.replace(DEFAULT_SETTINGS, options={"migrate": True})

# Each binds `engine` at module level (and nothing else binds it).
BINDINGS = {
    "assignment": 'engine = "cli"\n',
    "annotated": 'engine: str = "cli"\n',
    "annotated, no value": "engine: str\n",
    "augmented": 'engine += "cli"\n',
    "unpacking": 'engine, other = "cli", "x"\n',
    "starred": 'first, *engine = "cli", "x"\n',
    "in an if": 'if True:\n    engine = "cli"\n',
    "in a try": 'try:\n    engine = "cli"\nexcept ImportError:\n    pass\n',
    "for target": 'for engine in ("cli",):\n    pass\n',
    "with target": "with open(__file__) as engine:\n    pass\n",
    "except name": "try:\n    pass\nexcept OSError as engine:\n    pass\n",
    "walrus": '(engine := "cli")\n',
    "walrus in a comprehension": '[engine := x for x in ("cli",)]\n',
    "import": "import os as engine\n",
    "import in a try": "try:\n    import os as engine\nexcept ImportError:\n    pass\n",
    "def": "def engine():\n    pass\n",
    "class": "class engine:\n    pass\n",
    "global in a function": 'def configure():\n    global engine\n    engine = "cli"\n',
}
if sys.version_info >= (3, 10):
    BINDINGS["match capture"] = "match 1:\n    case engine:\n        pass\n"
    BINDINGS["match rest"] = "match {}:\n    case {**engine}:\n        pass\n"
# Bind `engine` only in another scope: not a module-level name.
NOT_BOUND = {
    "a local": 'def configure():\n    engine = "cli"\n',
    "a class attribute": 'class Settings:\n    engine = "cli"\n',
    "a comprehension variable": '[engine for engine in ("cli",)]\n',
    "a lambda parameter": "configure = lambda engine: engine\n",
    "a global declared, never assigned": "def configure():\n    global engine\n    return 1\n",
    "a name deleted": "del engine\n",
}


@pytest.mark.parametrize("source", BINDINGS.values(), ids=list(BINDINGS))
def test_module_bindings_knows_every_way_a_module_binds_a_name(source: str):
    assert "engine" in module_bindings(ast.parse(source), {})


@pytest.mark.parametrize("source", NOT_BOUND.values(), ids=list(NOT_BOUND))
def test_module_bindings_leaves_out_names_of_other_scopes(source: str):
    assert "engine" not in module_bindings(ast.parse(source), {})


FILES = {
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        'engine = create_engine("postgresql://u@h/db")\n'
        "SessionLocal = sessionmaker(bind=engine)\n"
    ),
    "app/cli.py": (
        "import click\n"
        "from sqlalchemy import text\n\n"
        "from .db import SessionLocal\n\n"
        "{binding}\n\n"
        "@click.command()\n"
        "def ping():\n"
        "    with SessionLocal() as db:\n"
        '        click.echo(db.execute(text("SELECT 1")).scalar_one())\n'
    ),
}


def _run_project(folder: Path, files: Dict[str, str]) -> Tuple[Dict[str, str], List[str]]:
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source)
    found, errors = discover([str(folder)], ())
    assert not errors
    settings = dataclasses.replace(
        MIGRATE,
        root=str(folder),
        options={**MIGRATE.options, **asyncfix_options(load_pyproject(str(folder)))},
    )
    results = list(run(found, settings, jobs=1))
    assert not [r for r in results if r.status == FAILED], [r.error for r in results]
    outputs, diagnostics = {}, []
    for result in results:
        relative = Path(result.path).relative_to(folder.resolve()).as_posix()
        data = result.new if result.status == CHANGED else Path(result.path).read_bytes()
        outputs[relative] = data.decode()
        diagnostics.extend(f"{relative}:{d.line}: {d.code} {d.message}" for d in result.diagnostics)
    return outputs, diagnostics


def test_without_a_clash_the_command_imports_the_engine(tmp_path: Path):
    """The control: the same project with `engine` free in the command's module converts."""
    files = {**FILES, "app/cli.py": FILES["app/cli.py"].format(binding="")}
    outputs, diagnostics = _run_project(tmp_path, files)
    assert not [line for line in diagnostics if " SQLA" in line], diagnostics
    assert "from .db import SessionLocal, engine\n" in outputs["app/cli.py"]
    assert "        await engine.dispose()\n" in outputs["app/cli.py"]


@pytest.mark.parametrize(
    "binding",
    [BINDINGS[case] for case in ("annotated", "unpacking", "in an if", "global in a function")],
    ids=["annotated", "unpacking", "in an if", "global in a function"],
)
def test_the_first_pass_refuses_an_engine_name_bound_otherwise(tmp_path: Path, binding: str):
    files = {**FILES, "app/cli.py": FILES["app/cli.py"].format(binding=binding)}
    outputs, diagnostics = _run_project(tmp_path, files)
    assert outputs == files  # nothing converts: the command blocks the closure
    assert any(
        "SQLA002 the CLI command `ping` cannot import the engine `engine` to dispose it: "
        "`engine` is bound to something else in its module" in line
        for line in diagnostics
    ), diagnostics
    assert not [line for line in diagnostics if " SQLA007 " in line], diagnostics
