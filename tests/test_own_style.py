"""The gate on asyncfix's own code: black and ruff (pyflakes, pycodestyle, isort rules) pass.

Settings live here, on the command line, not in pyproject.toml: asyncfix reads the target
project's ``[tool.black]`` and isort settings, and the bundled examples (``before_after/``) sit
in this repository, so a ``[tool.black]`` of ours would change how their rewrites are formatted.
To fix a failure: ``black -l 100 <paths>`` and ``ruff check --isolated --fix <the same flags>``.
Long lines are black's business (E501 is off: strings and tables it will not split).
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

PATHS = [
    "codemods",
    "tests",
    "benchmarks",
    "cli.py",
    "documents.py",
    "output.py",
    "verify.py",
    "verify_runs.py",
    "pytest_probe.py",
    "probe_loop.py",
    "probe_report.py",
    "probe_feedback.py",
    "rewrite_pass.py",
    "__init__.py",
    "__main__.py",
]
# Inputs of our tests, written in the styles users write (not our code).
EXCLUDE = ["tests/ruff_fixtures", "tests/migrate_apps", "tests/data"]
BLACK = [
    "-m",
    "black",
    "--check",
    "-q",
    "-l",
    "100",
    "--extend-exclude",
    "|".join(f"/{path}/" for path in EXCLUDE),
]
RUFF = [
    "-m",
    "ruff",
    "check",
    "--isolated",
    "-q",
    "--line-length",
    "100",
    "--select",
    "E,F,I,W",
    "--ignore",
    "E501",
    "--exclude",
    ",".join(EXCLUDE),
]


def _run(args):
    return subprocess.run([sys.executable, *args, *PATHS], cwd=REPO, capture_output=True, text=True)


def test_black():
    result = _run(BLACK)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff():
    result = _run(RUFF)
    assert result.returncode == 0, result.stdout + result.stderr
