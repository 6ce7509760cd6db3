"""Shared test helpers: the golden-file harness options and transform helpers."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import pytest
from asyncfix.codemods import REGISTRY
from asyncfix.codemods.base import Diagnostic
from asyncfix.codemods.engine import Settings, transform_standalone
from asyncfix.codemods.formatting import black_mode

# The CLI's first-pass cache (and every CLI subprocess a test starts) writes under a directory
# of this session, never to the user's ~/.cache.
_CACHE = tempfile.TemporaryDirectory(prefix="asyncfix-test-cache-")
os.environ["ASYNCFIX_CACHE_DIR"] = _CACHE.name

# The apps of tests/test_migrate_<app>.py are projects of their own: their suites run in a copy of each,
# never in ours.
collect_ignore = ["migrate_apps"]

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "before_after"

# What a user gets by default: every codemod, changed lines formatted with black's defaults.
DEFAULT_SETTINGS = Settings(
    codemods=tuple(codemod.NAME for codemod in REGISTRY), black_mode=black_mode(None)
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-goldens",
        action="store_true",
        help="rewrite before_after/**/*.after.py and *.diagnostics from the current output",
    )
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        metavar="N",
        help="examples per fuzz test in tests/test_reliability_fuzz.py (default: a bounded CI run)",
    )


# What the workers of a pytest-xdist run counted (pytest_testnodedown below).
_WORKER_COUNTS: Counter = Counter()


def pytest_terminal_summary(terminalreporter) -> None:
    """The counts the reliability tests gathered (programs tried, files scanned, changed)."""
    support = sys.modules.get("reliability_support")  # imported only if those tests ran
    COUNTS = Counter(_WORKER_COUNTS)  # update(), not +: a count of 0 is reported too
    COUNTS.update(getattr(support, "COUNTS", None) or {})
    if COUNTS:
        terminalreporter.write_sep("-", "reliability counts")
        for key, count in sorted(COUNTS.items()):
            terminalreporter.write_line(f"{key}: {count}")


# ---- pytest-xdist: the suite runs on every CPU (pyproject.toml: `-n auto --dist loadfile`; the
# tests of one file share one worker, so a module-scoped fixture is built once). Each worker
# counts for itself; the controller prints the sum.


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its reliability counts to the controller."""
    output = getattr(session.config, "workeroutput", None)
    support = sys.modules.get("reliability_support")
    if output is not None and support is not None:
        output["reliability_counts"] = dict(support.COUNTS)


# Files that run for minutes on one worker and share nothing between their tests but what one
# project's tests share (no module- or session-scoped fixture of their own): their tests are
# dealt out to whichever worker is free, the tests with the same parameter id (one project's:
# `test_x[p]` and `test_y[p]`, which may share a reference run) together. Every other file
# stays whole on one worker, as `--dist loadfile` keeps it.
SPREAD = ("tests/test_prefilter.py", "tests/test_kept_runs.py")
# Files whose tests read the same made-once results (golden_outcome below): one work unit.
TOGETHER = {"tests/test_engine.py": "tests/test_golden.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`, except that the tests of a SPREAD file are work units of their own,
    one per parameter id, and a TOGETHER file joins another's unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            if path in TOGETHER:
                return TOGETHER[path]
            if path not in SPREAD:
                return path
            name, bracket, parameter = nodeid.partition("[")
            return f"{path}[{parameter}" if bracket else nodeid

    return Scheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The controller adds up the counts of its workers (printed by pytest_terminal_summary)."""
    _WORKER_COUNTS.update(getattr(node, "workeroutput", {}).get("reliability_counts", {}))


@pytest.fixture
def regen(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-goldens"))


def golden_case(path: Path) -> str:
    """A golden file's name as its tests give it to asyncfix: ``<codemod>/<file>``."""
    return f"{path.parent.name}/{path.name}"


@functools.lru_cache(maxsize=None)
def golden_outcome(path: Path):
    """A golden input rewritten the ordinary way (transform_standalone with every codemod, full
    parse, the gates as they are): what tests/test_golden.py pins byte for byte and what
    tests/test_engine.py's other paths must give. Made once per input and process (TOGETHER
    keeps both files on one worker); read, never changed."""
    return transform_standalone(path.read_bytes(), golden_case(path), DEFAULT_SETTINGS)


def load_module(path: Path, name: str):
    """Import the file at ``path`` as a fresh module called ``name`` (rewritten code under test)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rewrite(
    source: str,
    *,
    select: Optional[Sequence[str]] = None,
    path: str = "t.py",
    fmt: bool = True,
) -> Tuple[str, List[Diagnostic]]:
    settings = Settings(
        codemods=tuple(select) if select else DEFAULT_SETTINGS.codemods,
        black_mode=DEFAULT_SETTINGS.black_mode if fmt else None,
    )
    outcome = transform_standalone(source.encode(), path, settings)
    return outcome.new.decode(), outcome.diagnostics


def check_transformed(before: str, after: str, **kwargs) -> List[Diagnostic]:
    out, diagnostics = rewrite(before, **kwargs)
    assert out == after
    again, _ = rewrite(out, **kwargs)
    assert again == out, "not a fixed point"
    compile(out, "t.py", "exec")
    return diagnostics


def check_noop(source: str, **kwargs) -> List[Diagnostic]:
    out, diagnostics = rewrite(source, **kwargs)
    assert out == source
    return diagnostics
