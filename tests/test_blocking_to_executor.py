"""blocking_to_executor: unit cases, and the runtime claim: input() and os.waitpid() give the
same results after the rewrite, from a worker thread, with the loop free meanwhile."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from asyncfix.codemods.engine import Settings, transform_source
from asyncfix.codemods.program_facts import ProjectIndex
from conftest import check_noop, check_transformed, load_module

SELECT = {"select": ["blocking_to_executor"], "fmt": False}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "async def f():\n    return input('? ').strip()\n",
            "import asyncio\n\n\nasync def f():\n    return (await asyncio.to_thread(input, '? ')).strip()\n",
            id="input-precedence",
        ),
        pytest.param(
            "import os as o\nasync def f(pid):\n    return o.wait4(pid, 0)\n",
            "import asyncio\nimport os as o\n\nasync def f(pid):\n    return await asyncio.to_thread(o.wait4, pid, 0)\n",
            id="os-alias",
        ),
        pytest.param(
            "import os\nasync def f(p, flags):\n    os.waitpid(p, *flags)\n",
            "import asyncio\nimport os\n\nasync def f(p, flags):\n    await asyncio.to_thread(os.waitpid, p, *flags)\n",
            id="star-arguments-pass-through",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, **SELECT)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def f():\n    return input()\n", id="sync-def"),
        pytest.param("input = print\nasync def f():\n    input('x')\n", id="rebound-input"),
        pytest.param("async def f(os):\n    os.wait()\n", id="parameter-os"),
        pytest.param("async def f():\n    return input()  # asyncfix: ignore\n", id="opt-out"),
    ],
)
def test_noop(source: str):
    assert check_noop(source, **SELECT) == []


def test_a_rebound_asyncio_is_reported():
    diagnostics = check_noop(
        "import os\nasync def f(p, asyncio):\n    os.waitpid(p, 0)\n", **SELECT
    )
    assert [(d.line, d.code) for d in diagnostics] == [(3, "ASYNC222")]


ORIGINAL = """
import os


async def ask(prompt):
    return input(prompt), input()


async def reap(pid):
    got, status = os.waitpid(pid, 0)
    return got == pid, os.waitstatus_to_exitcode(status)
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("executor_app")
    original = folder / "original.py"
    original.write_text(ORIGINAL)
    settings = Settings(codemods=("blocking_to_executor",))
    outcome = transform_source(original.read_bytes(), str(original), settings, ProjectIndex())
    assert outcome.rewrites == {"blocking_to_executor": 3}
    rewritten = folder / "rewritten.py"
    rewritten.write_bytes(outcome.new)
    result = []
    for path, name in ((original, "ex_original"), (rewritten, "ex_rewritten")):
        result.append(load_module(path, name))
    return result


def test_input_reads_the_same_lines(modules, monkeypatch, capsys):
    for module in modules:
        monkeypatch.setattr(sys, "stdin", io.StringIO("alice\nbob\n"))
        assert asyncio.run(module.ask("name? ")) == ("alice", "bob")
        assert capsys.readouterr().out == "name? "


@pytest.mark.skipif(not hasattr(os, "waitstatus_to_exitcode"), reason="POSIX, Python 3.9+")
def test_waitpid_reaps_a_real_child_while_the_loop_runs(modules):
    for module in modules:
        child = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 5"])

        async def main():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.02)
                    ticks += 1

            task = asyncio.ensure_future(ticker())
            result = await module.reap(child.pid)
            task.cancel()
            return result, ticks

        result, ticks = asyncio.run(main())
        child.returncode = 5  # reaped by os.waitpid: keep Popen from waiting again
        assert result == (True, 5)
        if module is modules[1]:
            assert ticks >= 5, "the loop was blocked while waiting"
        else:
            assert ticks == 0, "the original blocks the loop"


def test_every_offload_is_built_by_the_emit_policy():
    """One offload idiom (issue 19): ``asyncio.to_thread`` and the process pool's
    ``run_in_executor`` are built in codemods/emit.py only, so no family paraphrases them."""
    codemods = Path(__file__).resolve().parent.parent / "codemods"
    builders = re.compile(r'cst\.Name\("(to_thread|run_in_executor)"\)')
    found = sorted(path.name for path in codemods.glob("*.py") if builders.search(path.read_text()))
    assert found == ["emit.py"]
