"""Real code (issue 9): every codemod over installed third-party sources.

The bounded version of ``benchmarks/real_code.py`` (its SUBSET of packages, found in this
interpreter's site-packages): each package copied and rewritten as one project, then checked:
no internal error, every rewritten file compiles, a second run over the rewritten copy changes
nothing, and every change is one reviewed in docs/real_code_report.md (REVIEWED): released
library code is mostly correct already, so an unreviewed change fails with its diff. The full
list runs with ``python benchmarks/real_code.py`` (minutes; see the report for numbers).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import REPO
from reliability_support import COUNTS


def _load_script():
    spec = importlib.util.spec_from_file_location("real_code", REPO / "benchmarks" / "real_code.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_code"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


real_code = _load_script()


def test_real_code_subset_no_error_compiles_fixed_point_only_reviewed_changes():
    present = [name for name in real_code.SUBSET if real_code.package_dir(name) is not None]
    if len(present) < 4:
        pytest.skip(f"too few of {real_code.SUBSET} installed here")
    results = real_code.run_packages(present, jobs=2)
    for result in results:
        COUNTS[f"real code {result.name}: files scanned"] += result.files
        COUNTS[f"real code {result.name}: files changed"] += len(result.changed)
        COUNTS["real code (all packages): files scanned"] += result.files
        COUNTS["real code (all packages): files changed"] += len(result.changed)
    summary = real_code.summary_table(results)
    assert sum(r.files for r in results) > 100, summary
    problems = []
    for result in results:
        problems += [f"internal error: {path}: {error}" for path, error in result.failed.items()]
        problems += [f"does not compile: {path}" for path in result.not_compiling]
        problems += [f"not a fixed point: {path}" for path in result.second_run_changed]
        problems += [
            f"unreviewed change:\n{result.diffs[path]}"
            for path in result.changed
            if path not in real_code.REVIEWED
        ]
    assert not problems, summary + "\n".join(problems)


def test_reviewed_changes_name_real_files():
    """The reviewed list is about files that exist (a renamed package file would make an
    entry silently useless)."""
    for path in real_code.REVIEWED:
        package = real_code.package_dir(path.split("/")[0])
        if package is not None:
            assert (package.parent / path).exists(), path
