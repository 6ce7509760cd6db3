"""Tool speed: asyncfix --dry-run over a large real tree, next to the cost of parsing it.

Runs, on the same files in the same run:
- `asyncfix --dry-run --jobs N` (a subprocess; wall time and peak RSS of its processes),
- `ast.parse` of every file in one process (the floor: Python's C parser),
- libcst's parse of every file in one process (what a naive codemod runner pays),
- `ruff check --select ASYNC` (the speed a linter of the same rules reaches),
- with ``--edit``, a re-run after one file of a copy of the tree changed (the pre-commit case),
and prints one Markdown table, with the load average at the end of each figure (the machine is
shared: compare rows of one run, not runs) and asyncfix's own time per phase. The default tree is the installed sources of the packages the
test environment has (sqlalchemy, fastapi, starlette, pydantic, httpx, click, black, libcst).

    python benchmarks/tool_speed.py [--jobs 2] [--skip-libcst] [--edit] [PATH ...]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

PACKAGES = ("sqlalchemy", "fastapi", "starlette", "pydantic", "httpx", "click", "black", "libcst")


def default_paths() -> List[str]:
    paths = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.append(list(spec.submodule_search_locations)[0])
    return paths


def python_files(paths: List[str]) -> List[Path]:
    files: List[Path] = []
    for path in paths:
        files.extend(sorted(Path(path).rglob("*.py")))
    return files


def _asyncfix(paths: List[str], jobs: int, cwd: str, env: dict, extra=()) -> tuple:
    """One ``asyncfix --dry-run`` as a user runs it: (wall seconds, the run, its phases line)."""
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--dry-run", "--jobs", str(jobs), *extra, *paths],
        cwd=cwd,
        env={**env, "ASYNCFIX_PHASES": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    if run.returncode not in (0, 1):
        sys.exit(f"asyncfix failed ({run.returncode}):\n{run.stderr[-2000:]}")
    phases = [line for line in run.stderr.splitlines() if line.startswith("asyncfix phases:")]
    return wall, run, phases[-1][len("asyncfix phases: ") :] if phases else ""


def _load() -> str:
    return "%.1f" % os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-libcst", action="store_true", help="do not time libcst's parse")
    parser.add_argument(
        "--edit",
        action="store_true",
        help="also time a re-run after one file changed (on a copy of the tree: slower to set up)",
    )
    args = parser.parse_args()
    paths = [os.path.abspath(p) for p in (args.paths or default_paths())]
    files = python_files(paths)
    sources = [f.read_bytes() for f in files]
    lines = sum(s.count(b"\n") for s in sources)
    rows = []  # (what, wall seconds, load average when it ended)

    # asyncfix itself, as a user runs it (a copy is not needed: --dry-run writes nothing).
    # Run from an empty directory so no pyproject.toml of ours applies, with a cache directory
    # of its own: the first run starts cold (and fills it), the second is a re-run with no
    # file changed (pre-commit, CI re-runs).
    phases = {}
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "ASYNCFIX_CACHE_DIR": os.path.join(empty, "cache")}
        wall, run, phases["cold"] = _asyncfix(paths, args.jobs, empty, env)
        rows.append((f"asyncfix --dry-run --jobs {args.jobs}, cold (empty cache)", wall, _load()))
        cold_out = run.stdout
        wall, run, phases["warm"] = _asyncfix(paths, args.jobs, empty, env)
        rows.append((f"asyncfix --dry-run --jobs {args.jobs}, re-run (cache warm)", wall, _load()))
        if run.stdout != cold_out:
            print("WARNING: the warm re-run printed something else than the cold run")
        if args.edit:
            copy = os.path.join(empty, "tree")
            copies = []
            for index, path in enumerate(paths):
                copies.append(os.path.join(copy, f"{index}", os.path.basename(path)))
                shutil.copytree(path, copies[-1], ignore=shutil.ignore_patterns("__pycache__"))
            _asyncfix(copies, args.jobs, empty, env)  # warm the cache for the copy
            victim = sorted(Path(copies[0]).rglob("*.py"))[0]
            victim.write_text(
                victim.read_text() + "\n\ndef _asyncfix_benchmark_edit():\n    return 1\n"
            )
            wall, run, phases["one file changed"] = _asyncfix(copies, args.jobs, empty, env)
            rows.append(("asyncfix --dry-run, re-run after one file changed", wall, _load()))
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""

    ruff = shutil.which("ruff") or os.path.join(os.path.dirname(sys.executable), "ruff")
    if os.path.exists(ruff):
        walls = []
        for _ in range(2):  # the second: ruff's own cache warm, as in a re-run
            started = time.perf_counter()
            subprocess.run(
                [ruff, "check", "--select", "ASYNC", "--no-fix", "--exit-zero", "--quiet", *paths],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - started)
        rows.append(("ruff check --select ASYNC (re-run)", walls[-1], _load()))

    started = time.perf_counter()
    for source in sources:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            pass
    rows.append(("ast.parse of every file (1 process)", time.perf_counter() - started, _load()))

    if not args.skip_libcst:
        import libcst

        started = time.perf_counter()
        for source in sources:
            try:
                libcst.parse_module(source)
            except Exception:
                pass
        rows.append(
            ("libcst parse of every file (1 process)", time.perf_counter() - started, _load())
        )

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"tree: {', '.join(Path(p).name for p in paths)}: {len(files)} files, {lines} lines")
    print(f"asyncfix summary: {summary}")
    print()
    print("| what | wall time (s) | load average |")
    print("|---|---|---|")
    for what, wall, load in rows:
        print(f"| {what} | {wall:.2f} | {load} |")
    print(f"\npeak RSS of any asyncfix process: {peak_kib / 1024:.0f} MiB")
    print(f"asyncfix exit code: {run.returncode}")
    for name, line in phases.items():
        print(f"phases, {name}: {line}")


if __name__ == "__main__":
    main()
