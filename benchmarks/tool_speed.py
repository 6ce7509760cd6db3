"""Tool speed: asyncfix --dry-run over a large real tree, next to the cost of parsing it.

Runs, on the same files in the same run:
- `asyncfix --dry-run --jobs N` (a subprocess; wall time and peak RSS of its processes),
- `ast.parse` of every file in one process (the floor: Python's C parser),
- libcst's parse of every file in one process (what a naive codemod runner pays),
- `ruff check --select ASYNC` (the speed a linter of the same rules reaches),
- with ``--edit``, re-runs after one file of a copy of the tree changed (the pre-commit case):
  a comment added (no fact changes), then a function added,
- with ``--busy N``, every asyncfix figure again with N busy loops on the machine (the
  "stable under load" target: compare with the quiet rows of the same run),
and prints one Markdown table: wall time, CPU time (user + system of the process and its
workers: what the load does not inflate), and the load average at the end of each figure (the
machine is shared: compare rows of one run, not runs), and asyncfix's own time per phase. The
default tree is the installed sources of the packages the test environment has (sqlalchemy,
fastapi, starlette, pydantic, httpx, click, black, libcst). Python may write bytecode for
asyncfix's own modules (as an installed package has it): a run without it compiles every module.

    python benchmarks/tool_speed.py [--jobs 2] [--skip-libcst] [--edit] [--busy 2]
        [--baseline CHECKOUT] [PATH ...]

``--baseline`` also times the cold run of another asyncfix checkout (``git worktree add``
of the commit to compare with), right after each cold run of this one: A vs B in one run.
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


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _asyncfix(paths: List[str], jobs: int, cwd: str, env: dict, extra=()) -> tuple:
    """One ``asyncfix --dry-run`` as a user runs it: (wall seconds, CPU seconds, the run, its
    phases line)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cpu = _cpu()
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
    cpu = _cpu() - cpu
    if run.returncode not in (0, 1):
        sys.exit(f"asyncfix failed ({run.returncode}):\n{run.stderr[-2000:]}")
    phases = [line for line in run.stderr.splitlines() if line.startswith("asyncfix phases:")]
    shown = phases[-1][len("asyncfix phases: ") :] if phases else ""
    # files that reached libcst and changed nothing (rewrite.IDLE, on stderr with the phases)
    idle = sum(line.startswith("asyncfix: libcst, no change:") for line in run.stderr.splitlines())
    if phases:
        shown += f", files in libcst for nothing {idle}"
    return wall, cpu, run, shown


def _busy(count: int) -> list:
    """``count`` processes that keep a core busy until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _asyncfix_rows(paths: List[str], args, rows: list, phases: dict, tag: str):
    """asyncfix itself, as a user runs it (--dry-run writes nothing, so no copy is needed), from
    an empty directory (no pyproject.toml of ours applies) with a cache directory of its own:
    cold (empty cache), re-run with no file changed (pre-commit, CI re-runs) and, with --edit,
    re-runs after one file of a copy of the tree changed. Returns the last run."""
    jobs = args.jobs
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "ASYNCFIX_CACHE_DIR": os.path.join(empty, "cache")}
        wall, cpu, run, phases["cold" + tag] = _asyncfix(paths, jobs, empty, env)
        rows.append(
            (f"asyncfix --dry-run --jobs {jobs}, cold (empty cache){tag}", wall, cpu, _load())
        )
        cold_out = run.stdout
        if args.baseline:
            _baseline_row(paths, args, rows, phases, tag, empty, env)
        wall, cpu, run, phases["warm" + tag] = _asyncfix(paths, jobs, empty, env)
        rows.append(
            (f"asyncfix --dry-run --jobs {jobs}, re-run (cache warm){tag}", wall, cpu, _load())
        )
        if run.stdout != cold_out:
            print("WARNING: the warm re-run printed something else than the cold run")
        if not args.edit:
            return run
        copy = os.path.join(empty, "tree")
        copies = []
        for index, path in enumerate(paths):
            copies.append(os.path.join(copy, f"{index}", os.path.basename(path)))
            shutil.copytree(path, copies[-1], ignore=shutil.ignore_patterns("__pycache__"))
        _asyncfix(copies, jobs, empty, env)  # warm the cache for the copy
        victim = sorted(Path(copies[0]).rglob("*.py"))[0]
        for what, added in (
            ("a comment added", "\n# a benchmark edit\n"),
            ("a function added", "\n\ndef _asyncfix_benchmark_edit():\n    return 1\n"),
        ):
            victim.write_text(victim.read_text() + added)
            wall, cpu, run, phases[f"one file changed, {what}{tag}"] = _asyncfix(
                copies, jobs, empty, env
            )
            rows.append((f"asyncfix --dry-run, one file changed: {what}{tag}", wall, cpu, _load()))
        return run


def _baseline_row(paths, args, rows, phases, tag, empty, env) -> None:
    """The cold run of the checkout ``args.baseline``: the same interpreter and packages, its
    ``asyncfix`` package found first on PYTHONPATH (a link named asyncfix to the checkout)."""
    link_dir = os.path.join(empty, "baseline")
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "asyncfix")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(args.baseline), link)
    cache = os.path.join(empty, "baseline-cache")
    shutil.rmtree(cache, ignore_errors=True)
    path = os.pathsep.join(filter(None, (link_dir, env.get("PYTHONPATH"))))
    baseline_env = {**env, "PYTHONPATH": path, "ASYNCFIX_CACHE_DIR": cache}
    wall, cpu, _, phases["cold, baseline" + tag] = _asyncfix(paths, args.jobs, empty, baseline_env)
    what = f"baseline {os.path.basename(os.path.abspath(args.baseline))}: cold{tag}"
    rows.append((what, wall, cpu, _load()))


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
        help="also time re-runs after one file changed (on a copy of the tree: slower to set up)",
    )
    parser.add_argument(
        "--busy", type=int, default=0, help="also run every asyncfix figure with N busy loops"
    )
    parser.add_argument(
        "--baseline", help="a checkout of another asyncfix: its cold run too, same conditions"
    )
    args = parser.parse_args()
    paths = [os.path.abspath(p) for p in (args.paths or default_paths())]
    files = python_files(paths)
    sources = [f.read_bytes() for f in files]
    lines = sum(s.count(b"\n") for s in sources)
    rows = []  # (what, wall seconds, CPU seconds or None, load average when it ended)
    phases = {}
    for busy in sorted({0, args.busy}):
        loops = _busy(busy)
        try:
            run = _asyncfix_rows(paths, args, rows, phases, f", {busy} busy loops" if busy else "")
        finally:
            for loop in loops:
                loop.kill()
                loop.wait()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""

    ruff = shutil.which("ruff") or os.path.join(os.path.dirname(sys.executable), "ruff")
    if os.path.exists(ruff):
        with tempfile.TemporaryDirectory() as ruff_cache:
            for what in ("no cache", "re-run, cache warm"):
                cpu = _cpu()
                started = time.perf_counter()
                subprocess.run(
                    [ruff, "check", "--select", "ASYNC", "--no-fix", "--exit-zero", "--quiet"]
                    + ["--cache-dir", ruff_cache, *paths],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                wall = time.perf_counter() - started
                rows.append((f"ruff check --select ASYNC ({what})", wall, _cpu() - cpu, _load()))

    started, cpu = time.perf_counter(), time.process_time()
    for source in sources:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            pass
    wall = time.perf_counter() - started
    rows.append(("ast.parse of every file (1 process)", wall, time.process_time() - cpu, _load()))
    parse_wall = wall

    if not args.skip_libcst:
        import libcst

        started = time.perf_counter()
        for source in sources:
            try:
                libcst.parse_module(source)
            except Exception:
                pass
        wall = time.perf_counter() - started
        rows.append(("libcst parse of every file (1 process)", wall, None, _load()))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"tree: {', '.join(Path(p).name for p in paths)}: {len(files)} files, {lines} lines")
    print(f"asyncfix summary: {summary}")
    print()
    print("| what | wall time (s) | CPU time (s) | load average |")
    print("|---|---|---|---|")
    for what, wall, cpu, load in rows:
        shown = "(in process)" if cpu is None else f"{cpu:.2f}"
        print(f"| {what} | {wall:.2f} | {shown} | {load} |")
    print(f"\npeak RSS of any asyncfix process: {peak_kib / 1024:.0f} MiB")
    for what, wall, _, _ in rows:
        if ", cold" in what or ": cold" in what:  # the target: at most ast.parse's wall time
            print(f"{what}: {wall / parse_wall:.1f}x ast.parse of every file")
    print(f"asyncfix exit code: {run.returncode}")
    for name, line in phases.items():
        print(f"phases, {name}: {line}")


if __name__ == "__main__":
    main()
