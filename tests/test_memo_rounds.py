"""Kept rewrites per round number (codemods/memo.py): a run of three rounds keeps each round's
rewrite of a file, so the next run, after an edit elsewhere, rewrites the edited file alone in
every round (with one entry for all later rounds, round 3's overwrote round 2's)."""

from __future__ import annotations

from pathlib import Path

import asyncfix.cli
import libcst as cst
import pytest
from asyncfix import codemods as registry
from asyncfix.codemods import cache, gates
from asyncfix.codemods.base import Codemod
from asyncfix.codemods.phases import PHASES
from test_cache import _rewritten, _run


class Stepper(Codemod):
    """A test-only codemod whose fixed point takes three rounds: ``STEP = n`` becomes
    ``STEP = n + 1`` while n < 3, one step a round (each round sees the text the last made)."""

    NAME = "stepper"
    DESCRIPTION = "test only"
    NEEDS = (b"STEP",)
    ASYNC_ONLY = False

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        target = original.targets[0].target
        if not (isinstance(target, cst.Name) and target.value == "STEP"):
            return updated
        if not isinstance(original.value, cst.Integer) or int(original.value.value) >= 3:
            return updated
        self.rewrote()
        return updated.with_changes(value=cst.Integer(str(int(original.value.value) + 1)))


@pytest.fixture
def with_stepper(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(registry.BY_NAME, Stepper.NAME, Stepper)
    monkeypatch.setitem(gates.GATE_BY_NAME, Stepper.NAME, Stepper)  # its first pass
    monkeypatch.setattr(asyncfix.cli, "NAMES", (*asyncfix.cli.NAMES, Stepper.NAME))


def test_a_three_round_run_keeps_every_round(tmp_path: Path, monkeypatch, with_stepper):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "steps.py").write_text("STEP = 1\n")
    (project / "other.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()\n")
    (project / "sleepy.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    rewritten = _rewritten(monkeypatch)
    first = _run(project)
    assert "+STEP = 3" in first.output and PHASES["rounds"] == 3
    # round 1 every file, round 2 the two it changed, round 3 steps.py (STEP = 3 confirmed)
    assert sorted(rewritten) == sorted(
        ["other.py", "sleepy.py", "sleepy.py", "steps.py", "steps.py", "steps.py"]
    )
    rewritten.clear()
    (project / "other.py").write_text((project / "other.py").read_text() + "# a comment\n")
    again = _run(project)
    assert PHASES["rounds"] == 3
    assert rewritten == ["other.py"] and PHASES["files rewritten"] == 1
    assert again.output == first.output
    rewritten.clear()
    # a fact moved (a function added): the rounds' indexes are built again, the kept rewrites
    # of the files whose reads saw the same still hold
    (project / "other.py").write_text(
        (project / "other.py").read_text() + "\n\ndef g():\n    pass\n"
    )
    moved = _run(project)
    assert rewritten == ["other.py"] and PHASES["files rewritten"] == 1
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cold"))
    assert moved.output == _run(project).output == _run(project, "--no-cache").output
    assert again.output == first.output
