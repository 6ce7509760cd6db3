"""Real code: every codemod over the installed sources of third-party packages.

For each package of a fixed list (found in the running interpreter's site-packages), the
package is copied to a temporary directory and treated as one project, as a user would run
``asyncfix --apply <package>``:

1. run all codemods (black on) over the copy and write every rewritten file;
2. check: no internal error, every rewritten file compiles;
3. run again over the rewritten copy: nothing may change (a fixed point, project-wide).

Every change is printed as a diff (``--diffs``) so it can be reviewed: the code of released
libraries is mostly correct already, so each change is a suspect (docs/real_code_report.md
lists the changes of the full run with a judgement for each). Exit code 0 when every check
holds, 1 otherwise.

    python benchmarks/real_code.py [--jobs 2] [--diffs FILE] [--json FILE] [PACKAGE ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from asyncfix.codemods import REGISTRY
from asyncfix.codemods.engine import CHANGED, FAILED, Settings, default_jobs, run
from asyncfix.codemods.files import discover
from asyncfix.codemods.formatting import black_mode

# Web frameworks and their dependencies first (the code asyncfix targets), then large
# general-purpose libraries. Every name is in the `test` extra or a dependency of it.
PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    "uvicorn",
    "requests",
    "urllib3",
    "aiosqlite",
    "sqlalchemy",
    "click",
    "jsonschema",
    "yaml",
)

# What the in-suite test runs (tests/test_reliability_real_code.py), bounded for CI: the
# packages of the list that asyncfix gets through in seconds (few of their files hold the
# tokens a codemod needs), with async HTTP (httpcore, h11), sync HTTP (requests, urllib3), an
# asyncio/SQLite bridge (aiosqlite) and plain sync libraries (click, yaml, jsonschema).
SUBSET = ("h11", "httpcore", "requests", "urllib3", "aiosqlite", "click", "yaml", "jsonschema")

# Every change the full run makes, reviewed (docs/real_code_report.md has the reasoning):
# "package-relative path" -> the judgement. A change in a file not listed here is unreviewed:
# the in-suite test fails on it and prints its diff.
REVIEWED = {
    "aiosqlite/core.py": "correct: get_event_loop() -> get_running_loop() inside coroutines",
    "uvicorn/lifespan/on.py": "correct: get_event_loop() -> get_running_loop() in a coroutine",
    "uvicorn/middleware/wsgi.py": "correct: get_event_loop() -> get_running_loop() in a coroutine",
    "uvicorn/server.py": "equivalent but unneeded: a one-off os.path.exists at server start-up "
    "moved to a thread",
    "fastapi/dependencies/utils.py": "FALSE POSITIVE (cpu_to_executor): dependency-resolution "
    "helpers judged CPU-bound by the nested-loops heuristic",
    "sqlalchemy/ext/asyncio/engine.py": "FALSE POSITIVE (await_coroutines): a coroutine handed "
    "to the project coroutine _run_to_completion(coro) gets awaited first",
    "sqlalchemy/ext/asyncio/session.py": "FALSE POSITIVE (await_coroutines): as engine.py",
}


def package_dir(name: str) -> Optional[Path]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@dataclass
class PackageResult:
    name: str
    files: int = 0
    changed: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)  # internal errors and unreadable input
    source_errors: Dict[str, str] = field(default_factory=dict)  # syntax this Python lacks
    not_compiling: List[str] = field(default_factory=list)
    second_run_changed: List[str] = field(default_factory=list)
    diagnostics: int = 0
    rewrites: Dict[str, int] = field(default_factory=dict)
    diffs: Dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.failed or self.not_compiling or self.second_run_changed)


def settings_for(root: str) -> Settings:
    return Settings(
        codemods=tuple(codemod.NAME for codemod in REGISTRY), black_mode=black_mode(None), root=root
    )


def run_package(name: str, source: Path, workdir: Path, jobs: int) -> PackageResult:
    """Copy ``source`` to ``workdir/name``, rewrite it twice, and check both runs."""
    result = PackageResult(name)
    start = time.perf_counter()
    copy = workdir / name
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    files, missing = discover([str(copy)], ())
    assert not missing, missing
    result.files = len(files)
    settings = settings_for(str(workdir))
    for file_result in run(files, settings, jobs):
        relative = os.path.relpath(file_result.path, workdir)
        result.diagnostics += len(file_result.diagnostics)
        if file_result.status == FAILED:
            error = file_result.error or ""
            if error.startswith("internal error") or error.startswith("cannot"):
                result.failed[relative] = error
            else:
                result.source_errors[relative] = error
            continue
        if file_result.status != CHANGED:
            continue
        for codemod, count in file_result.rewrites.items():
            result.rewrites[codemod] = result.rewrites.get(codemod, 0) + count
        result.changed.append(relative)
        result.diffs[relative] = file_result.diff.replace(str(workdir).lstrip("/") + "/", "")
        new = file_result.new or b""
        try:
            compile(new, file_result.path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            result.not_compiling.append(relative)
        Path(file_result.path).write_bytes(new)
    if result.changed:  # the fixed point, project-wide: a second run over the rewritten copy
        for file_result in run(files, settings, jobs):
            if file_result.status == CHANGED:
                result.second_run_changed.append(os.path.relpath(file_result.path, workdir))
            elif file_result.status == FAILED and file_result.error:
                if file_result.error.startswith("internal error"):
                    relative = os.path.relpath(file_result.path, workdir)
                    result.failed.setdefault(relative, "second run: " + file_result.error)
    result.seconds = time.perf_counter() - start
    return result


def run_packages(names: Sequence[str], jobs: int) -> List[PackageResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="asyncfix-real-code-") as temporary:
        for name in names:
            source = package_dir(name)
            if source is None:
                continue
            workdir = Path(temporary) / name
            workdir.mkdir()
            results.append(run_package(name, source, workdir, jobs))
    return results


def summary_table(results: Sequence[PackageResult]) -> str:
    lines = [
        "| package | files scanned | files changed | rewrites | diagnostics | internal errors "
        "| not compiling | changed by a 2nd run | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.files} | {len(r.changed)} | {sum(r.rewrites.values())} "
            f"| {r.diagnostics} | {len(r.failed)} | {len(r.not_compiling)} "
            f"| {len(r.second_run_changed)} | {r.seconds:.1f} |"
        )
    total = lambda attr: sum(len(getattr(r, attr)) for r in results)  # noqa: E731
    lines.append(
        f"| **total** | {sum(r.files for r in results)} | {total('changed')} "
        f"| {sum(sum(r.rewrites.values()) for r in results)} "
        f"| {sum(r.diagnostics for r in results)} | {total('failed')} "
        f"| {total('not_compiling')} | {total('second_run_changed')} "
        f"| {sum(r.seconds for r in results):.1f} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"default: {' '.join(PACKAGES)}")
    parser.add_argument("--subset", action="store_true", help=f"only {' '.join(SUBSET)}")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--diffs", metavar="FILE", help="write every change as a diff to FILE")
    parser.add_argument("--json", metavar="FILE", help="write the per-package results as JSON")
    args = parser.parse_args(argv)
    names = args.packages or (SUBSET if args.subset else PACKAGES)
    start = time.perf_counter()
    results = run_packages(names, args.jobs)
    elapsed = time.perf_counter() - start
    print(summary_table(results))
    print(
        f"{len(results)} packages, {elapsed:.1f} s wall time, --jobs {args.jobs}, "
        f"Python {sys.version.split()[0]}"
    )
    for r in results:
        for path, error in sorted(r.failed.items()):
            print(f"FAILED {path}: {error}")
        for path in r.not_compiling:
            print(f"DOES NOT COMPILE {path}")
        for path in r.second_run_changed:
            print(f"NOT A FIXED POINT {path}")
        for path, error in sorted(r.source_errors.items()):
            print(f"skipped (input) {path}: {error}")
    if args.diffs:
        with open(args.diffs, "w", encoding="utf-8") as handle:
            for r in results:
                for path in sorted(r.diffs):
                    handle.write(r.diffs[path])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                [
                    {
                        "package": r.name,
                        "files": r.files,
                        "changed": r.changed,
                        "failed": r.failed,
                        "source_errors": r.source_errors,
                        "not_compiling": r.not_compiling,
                        "second_run_changed": r.second_run_changed,
                        "diagnostics": r.diagnostics,
                        "rewrites": r.rewrites,
                        "seconds": round(r.seconds, 2),
                    }
                    for r in results
                ],
                handle,
                indent=2,
            )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
