"""Interruption (issue 9): an ``--apply`` stopped at any moment (Ctrl-C = SIGINT, ``kill`` =
SIGTERM) leaves every file either fully old or fully new and no ``.asyncfix-*.tmp`` file in
the user's tree. SIGKILL cannot be caught, so a temporary file may stay behind then, but the
user's files are still each old or new (the rename is atomic), never partial.

A real subprocess over a tree of many files, signalled at varied moments: before any write,
after the first few, in the middle, near the end (bounded: a few runs).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from asyncfix.codemods.files import TEMP_PREFIX, TEMP_SUFFIX

FILES = 30  # bounded: a run over them takes a few seconds on a slow CI machine


def _source(index: int) -> bytes:
    # Distinct files, each a few KB, so a write takes a moment and a partial file would show.
    filler = "".join(f"# line {line} of module {index}: {'x' * 60}\n" for line in range(60))
    return (
        f"import time\n\n{filler}\n\nasync def handler_{index}():\n    time.sleep(0.01)\n"
        f"    return {index}\n"
    ).encode()


def _expected(source: bytes) -> bytes:
    return source.replace(b"import time", b"import asyncio").replace(
        b"time.sleep(0.01)", b"await asyncio.sleep(0.01)"
    )


def _tree(root: Path) -> Dict[Path, bytes]:
    files = {}
    for index in range(FILES):
        path = root / f"pkg{index % 4}" / f"module_{index:03d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_source(index))
        files[path] = path.read_bytes()
    return files


def _new_count(files: Dict[Path, bytes]) -> int:
    count = 0
    for path, old in files.items():
        try:
            if path.read_bytes() != old:
                count += 1
        except OSError:
            pass
    return count


def _check(root: Path, files: Dict[Path, bytes], temporary_allowed: bool) -> int:
    """Every file is its old or its new bytes; returns how many are new."""
    new = 0
    for path, old in files.items():
        data = path.read_bytes()
        assert data in (old, _expected(old)), f"{path} is neither old nor new: {data[:200]!r}"
        new += data != old
    stray = [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]
    if not temporary_allowed:
        assert not stray, f"temporary files left behind: {stray}"
    for path in stray:  # a SIGKILL leftover is a complete or partial copy, never a user file
        assert path.name.endswith(TEMP_SUFFIX)
    python_files = sorted(p for p in root.rglob("*.py"))
    assert python_files == sorted(files), "files appeared or disappeared"
    return new


def _start(root: Path, jobs: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "asyncfix",
        "--apply",
        "--select",
        "sleep_to_asyncio",
        "-j",
        str(jobs),
        str(root),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _interrupt(root: Path, files, sig: int, after_writes: int, jobs: int = 1) -> List[int]:
    process = _start(root, jobs)
    deadline = time.monotonic() + 120
    try:
        while after_writes and _new_count(files) < after_writes and process.poll() is None:
            assert time.monotonic() < deadline, "the run never reached the moment to interrupt"
            time.sleep(0.002)
        process.send_signal(sig)
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return [process.returncode]


@pytest.mark.parametrize(
    "sig, after_writes, jobs",
    [
        (signal.SIGINT, 0, 1),  # before anything is written (or even read)
        (signal.SIGINT, 1, 1),
        (signal.SIGTERM, FILES // 2, 1),
        (signal.SIGTERM, FILES - 3, 1),
        (signal.SIGINT, 5, 2),  # with worker processes
    ],
    ids=["int-at-start", "int-after-1", "term-middle", "term-near-end", "int-jobs2"],
)
def test_interrupted_apply_leaves_each_file_old_or_new(tmp_path: Path, sig, after_writes, jobs):
    files = _tree(tmp_path)
    _interrupt(tmp_path, files, sig, after_writes, jobs)
    written = _check(tmp_path, files, temporary_allowed=False)
    assert written >= after_writes


def test_interrupted_apply_can_be_resumed(tmp_path: Path):
    files = _tree(tmp_path)
    _interrupt(tmp_path, files, signal.SIGTERM, 3, 1)
    assert FILES > _check(tmp_path, files, temporary_allowed=False) >= 3
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncfix",
            "--apply",
            "--select",
            "sleep_to_asyncio",
            str(tmp_path),
        ],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _check(tmp_path, files, temporary_allowed=False) == FILES


@pytest.mark.parametrize("after_writes", [2, FILES // 2])
def test_sigkill_never_leaves_a_partial_user_file(tmp_path: Path, after_writes: int):
    files = _tree(tmp_path)
    _interrupt(tmp_path, files, signal.SIGKILL, after_writes)
    _check(tmp_path, files, temporary_allowed=True)
