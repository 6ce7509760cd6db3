"""Tool speed: asyncfix --dry-run over a large real tree, next to the cost of parsing it.

Runs, on the same files in the same run:
- `asyncfix --dry-run --jobs N` (a subprocess; wall time and peak RSS of its processes),
- `ast.parse` of every file in one process (the floor: Python's C parser),
- libcst's parse of every file in one process (what a naive codemod runner pays),
and prints one Markdown table. The default tree is the installed sources of the packages the
test environment has (sqlalchemy, fastapi, starlette, pydantic, httpx, click, black, libcst).

    python benchmarks/tool_speed.py [--jobs 2] [--skip-libcst] [PATH ...]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import platform
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-libcst", action="store_true", help="do not time libcst's parse")
    args = parser.parse_args()
    paths = args.paths or default_paths()
    files = python_files(paths)
    sources = [f.read_bytes() for f in files]
    lines = sum(s.count(b"\n") for s in sources)

    # asyncfix itself, as a user runs it (a copy is not needed: --dry-run writes nothing).
    # Run from an empty directory so no pyproject.toml of ours applies, with a cache directory
    # of its own: the first run starts cold (and fills it), the second is a re-run with no
    # file changed (pre-commit, CI re-runs).
    walls = []
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "ASYNCFIX_CACHE_DIR": os.path.join(empty, "cache")}
        for _ in range(2):
            started = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "asyncfix", "--dry-run", "--jobs", str(args.jobs), *paths],
                cwd=empty, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            walls.append(time.perf_counter() - started)
            if run.returncode not in (0, 1):
                sys.exit(f"asyncfix failed ({run.returncode}):\n{run.stderr[-2000:]}")
    asyncfix_wall, warm_wall = walls
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""

    started = time.perf_counter()
    for source in sources:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            pass
    ast_wall = time.perf_counter() - started

    libcst_wall = None
    if not args.skip_libcst:
        import libcst

        started = time.perf_counter()
        for source in sources:
            try:
                libcst.parse_module(source)
            except Exception:
                pass
        libcst_wall = time.perf_counter() - started

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"tree: {', '.join(Path(p).name for p in paths)}: {len(files)} files, {lines} lines")
    print(f"asyncfix summary: {summary}")
    print()
    print("| what | wall time (s) |")
    print("|---|---|")
    print(f"| asyncfix --dry-run --jobs {args.jobs}, cold (empty cache) | {asyncfix_wall:.1f} |")
    print(f"| asyncfix --dry-run --jobs {args.jobs}, re-run (cache warm) | {warm_wall:.1f} |")
    print(f"| ast.parse of every file (1 process) | {ast_wall:.1f} |")
    if libcst_wall is not None:
        print(f"| libcst parse of every file (1 process) | {libcst_wall:.1f} |")
    print(f"\npeak RSS of any asyncfix process: {peak_kib / 1024:.0f} MiB")
    print(f"asyncfix exit code: {run.returncode}")


if __name__ == "__main__":
    main()
