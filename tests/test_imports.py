"""A run whose files need no rewrite imports no libcst and no black (issue 20): the first pass,
the index and the gates are gates.py's, libcst-free; libcst, the codemods and black come in
only for a file a codemod wants (rewrite.py -> transform.py, formatting.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asyncfix.codemods import REGISTRY, cache
from asyncfix.codemods.gates import GATES

# Nothing here to rewrite, but something for most codemods' first pass to read: coroutines
# that await, blocking calls in sync code, requests, a session-like name, a CPU-looking loop,
# and an await finding the index reports without libcst (AWAIT001: a dunder calls a coroutine).
FILES = {
    "service.py": (
        "import asyncio\n\n\nasync def fetch(x):\n    await asyncio.sleep(0)\n    return x\n\n\n"
        "async def main():\n    return await fetch(1)\n"
    ),
    "sync_io.py": (
        "import subprocess\nimport time\n\nimport requests\n\n\ndef load(path):\n"
        "    time.sleep(1)\n    with open(path) as f:\n        return f.read()\n\n\n"
        "def get(url):\n    subprocess.run(['true'])\n    return requests.get(url).json()\n"
    ),
    "compute.py": (
        "def total(rows):\n    n = 0\n    for row in rows:\n        for cell in row:\n"
        "            n += cell\n    return n\n"
    ),
    "finding.py": (
        "async def fetch(x):\n    return x\n\n\nclass A:\n    def __len__(self):\n"
        "        fetch(1)\n        return 0\n"
    ),
}
SLEEPY = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
# What only a file that reaches the rewrite may load.
HEAVY = {
    "libcst",
    "black",
    "asyncfix.codemods.registry",
    "asyncfix.codemods.transform",
    "asyncfix.codemods.base",
    *(codemod.__module__ for codemod in REGISTRY),
}


def _imported(stderr: str) -> set:
    return {
        line.split("|")[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _asyncfix(project: Path, cache_dir: Path, *args: str):
    """(exit code, stdout, stderr without -X importtime's lines, the modules imported)."""
    env = {**os.environ, cache.CACHE_ENV: str(cache_dir), "NO_COLOR": "1"}
    command = [sys.executable, "-X", "importtime", "-m", "asyncfix", "-j", "1", "--dry-run"]
    done = subprocess.run(
        [*command, *args, str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(project.parent),
    )
    lines = done.stderr.splitlines()
    said = "\n".join(line for line in lines if not line.startswith("import time:"))
    return done.returncode, done.stdout, said, _imported(done.stderr)


def _tree(root: Path, files: dict) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_gates_are_the_registry_first_pass():
    """One gate per codemod, in registry order, and each codemod is its gate's subclass: the
    engine's first pass and gates (GATES) are the codemods' own."""
    assert [gate.NAME for gate in GATES] == [codemod.NAME for codemod in REGISTRY]
    for gate, codemod in zip(GATES, REGISTRY):
        assert issubclass(codemod, gate), codemod


def test_a_run_with_nothing_to_rewrite_imports_neither_libcst_nor_black(tmp_path: Path):
    project = _tree(tmp_path / "project", FILES)
    cold = _asyncfix(project, tmp_path / "cache")
    assert cold[0] == 0, cold[2]
    assert "finding.py:7:9: AWAIT001" in cold[1] + cold[2]
    assert "0 would change" in cold[2] and "0 failed" in cold[2]
    assert "asyncfix.codemods.gates" in cold[3]  # the first pass ran here
    assert not HEAVY & cold[3], sorted(HEAVY & cold[3])
    # The same files in a run that does reach libcst (one file to rewrite) say the same.
    mixed = _tree(tmp_path / "mixed", {**FILES, "sleepy.py": SLEEPY})
    full = _asyncfix(mixed, tmp_path / "cache2")
    assert {"libcst", "asyncfix.codemods.transform"} <= full[3]
    assert cold[1] == full[1].replace("mixed", "project").split("--- ")[0]
    without_sleepy = [line for line in full[2].splitlines() if "sleepy" not in line]
    assert [line for line in cold[2].splitlines() if "scanned" not in line] == [
        line.replace("mixed", "project") for line in without_sleepy if "scanned" not in line
    ]


def test_a_comment_edit_of_a_file_with_nothing_to_rewrite_imports_neither(tmp_path: Path):
    """The pre-commit case: the edited file is scanned again (its facts, its gates), and
    nothing reaches libcst."""
    project = _tree(tmp_path / "project", FILES)
    first = _asyncfix(project, tmp_path / "cache")
    edited = project / "sync_io.py"
    edited.write_text(edited.read_text() + "# a comment\n")
    again = _asyncfix(project, tmp_path / "cache")
    assert again[:3] == first[:3]
    assert "asyncfix.codemods.scan" in again[3]  # computed, not the whole run reused
    assert not HEAVY & again[3], sorted(HEAVY & again[3])
