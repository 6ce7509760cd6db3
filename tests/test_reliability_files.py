"""Files and bytes (issue 9): odd encodings, line endings and shapes are rewritten with
everything else kept byte for byte; files that cannot be read are reported per file, the run
goes on and exits 2; symlink loops do not hang the walk. Through the CLI (click's CliRunner,
``-j 1`` where a test patches the process) and a real subprocess where a hang is the risk.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict

import pytest
from asyncfix import cli
from asyncfix.codemods import engine, writer
from click.testing import CliRunner

BLOCKING = b'import time\n\n\nasync def wait():\n    time.sleep(0.2)\n    return {"msg": "done"}\n'


def fixed(source: bytes) -> bytes:
    """What sleep_to_asyncio makes of ``source``: exactly two spans change, nothing else."""
    assert source.count(b"import time") == 1 and source.count(b"time.sleep(0.2)") == 1
    return source.replace(b"import time", b"import asyncio").replace(
        b"time.sleep(0.2)", b"await asyncio.sleep(0.2)"
    )


def invoke(*args: str):
    return CliRunner().invoke(cli.main, ["-j", "1", *args], catch_exceptions=False)


def _deep_ifs(depth: int) -> bytes:
    lines = ["import time", "", "", "async def wait(x):"]
    lines += ["    " * (level + 1) + "if x:" for level in range(depth)]
    lines.append("    " * (depth + 1) + "time.sleep(0.2)")
    return ("\n".join(lines) + "\n").encode()


def _large() -> bytes:
    # ~2.4 MB in 200 long lines plus the coroutine (libcst's cost is per line and node, so a
    # file of many MB in many short lines takes minutes: see docs/real_code_report.md).
    blobs = b"".join(b"BLOB_%d = '" % i + b"ab\\x00cd\\t" * 1200 + b"'\n" for i in range(200))
    return (
        b"import time\n\n"
        + blobs
        + b"\n\nasync def wait():\n    time.sleep(0.2)\n    return BLOB_1\n"
    )


CASES: Dict[str, bytes] = {
    "latin-1 coding cookie": (
        b"# -*- coding: latin-1 -*-\nimport time\n\nNAME = 'caf\xe9 \xa4'\n\n\n"
        b"async def wait():\n    time.sleep(0.2)\n    return NAME\n"
    ),
    "utf-8 with BOM": b"\xef\xbb\xbf" + BLOCKING,
    "crlf": BLOCKING.replace(b"\n", b"\r\n"),
    "mixed line endings": (
        b"import time\r\n\n\nasync def wait():\n    time.sleep(0.2)\r\n    return 1\r\n"
    ),
    "tabs": (
        b"import time\n\n\ndef sync():\n\treturn [1,\n\t        2]\n\n\n"
        b"async def wait():\n\ttime.sleep(0.2)\n\tx = [1,\n\t     2]\n\treturn x\n"
    ),
    "form feeds": (
        b"import time\n\x0c\n\nasync def wait():\n    time.sleep(0.2)\n    return 1\n"
        b"\x0c\n\ndef other():\n    return 2  # \x0c in a comment\n"
    ),
    "line continuations": (
        b"import time\n\nX = 1 + \\\n    2\n\n\nasync def wait():\n    y = [X,\n"
        b"         X]  # kept as written\n    time.sleep(0.2)\n    return \\\n        y\n"
    ),
    "no final newline": BLOCKING.rstrip(b"\n"),
    "non-ascii identifiers and strings": (
        b"import time\n\n\nasync def warte():\n    \xc3\xa4 = '\xe2\x9c\x93 \xf0\x9f\x90\x8d'\n"
        b"    time.sleep(0.2)\n    return \xc3\xa4\n"
    ),
    "deep nesting (50 blocks)": _deep_ifs(50),
    "large file (2.4 MB)": _large(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewritten_with_everything_else_kept_byte_for_byte(tmp_path: Path, name: str):
    source = CASES[name]
    path = tmp_path / "module.py"
    path.write_bytes(source)
    # 50 levels deep, black (rightly) wraps the rewritten line: compare asyncfix's own output.
    formatting = "--no-format" if name.startswith("deep") else "--format"
    result = invoke("--apply", formatting, str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == fixed(source)
    compile(path.read_bytes(), str(path), "exec")
    assert invoke("--check", str(path)).exit_code == 0  # a second run changes nothing


@pytest.mark.parametrize(
    "source",
    [
        b"",
        b"\n",
        b"# only a comment\n# with words codemods look for: sleep requests open\n",
        b"#!/usr/bin/env python\n",
        b"\xef\xbb\xbf",
        b"\x0c\n",
        b"   \n\t\n",
        b"pass",
    ],
    ids=[
        "empty",
        "newline",
        "comments",
        "shebang",
        "bom-only",
        "form-feed",
        "whitespace",
        "no-newline",
    ],
)
def test_trivial_files_are_unchanged_exit_0(tmp_path: Path, source: bytes):
    path = tmp_path / "module.py"
    path.write_bytes(source)
    result = invoke("--apply", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == source


def test_executable_bit_and_shebang_kept(tmp_path: Path):
    path = tmp_path / "script.py"
    path.write_bytes(b"#!/usr/bin/env python3\n" + BLOCKING)
    path.chmod(0o751)
    assert invoke("--apply", str(path)).exit_code == 0
    assert path.read_bytes() == fixed(b"#!/usr/bin/env python3\n" + BLOCKING)
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


BAD_INPUT = {
    "undecodable.py": (b"x = '\xff\xfe'\n", "decode"),
    "unknown-cookie.py": (b"# -*- coding: no-such-codec -*-\nx = 1\n", "unknown encoding"),
    "nul-byte.py": (b"x = 1\x00\n", "null bytes"),
    "syntax-error.py": (b"async def f(:\n", "syntax error"),
    # Python itself cannot compile a 5000-term sum (its own recursion limit).
    "too-deep.py": (b"X = " + b" + ".join([b"1"] * 5000) + b"\n", "nested too deeply"),
    "too-deep-indent.py": (_deep_ifs(101), "too many levels of indentation"),
}


def _tree_with_one_good_file(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_bytes(BLOCKING)
    return tmp_path


def test_bad_input_reported_per_file_run_continues_exit_2(tmp_path: Path):
    root = _tree_with_one_good_file(tmp_path)
    for name, (data, _) in BAD_INPUT.items():
        (root / name).write_bytes(data)
    result = invoke("--apply", str(root))
    assert result.exit_code == 2
    for name, (data, words) in BAD_INPUT.items():
        line = next(
            line for line in result.stderr.splitlines() if line.startswith(f"error: {root / name}:")
        )
        assert words in line, line
        assert (root / name).read_bytes() == data
    assert (root / "good.py").read_bytes() == fixed(BLOCKING)


def test_fifo_and_directory_named_py_do_not_block_the_run(tmp_path: Path):
    """A FIFO named *.py would block a read forever: it is reported, not opened. A directory
    named *.py is walked like any directory. A subprocess, so that a hang fails the test."""
    root = _tree_with_one_good_file(tmp_path)
    os.mkfifo(root / "pipe.py")
    (root / "package.py").mkdir()
    (root / "package.py" / "inner.py").write_bytes(BLOCKING)
    command = [sys.executable, "-m", "asyncfix", "--apply", "-j", "2", str(root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"error: {root / 'pipe.py'}: not a regular file" in done.stderr
    assert (root / "good.py").read_bytes() == fixed(BLOCKING)
    assert (root / "package.py" / "inner.py").read_bytes() == fixed(BLOCKING)
    named = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--check", str(root / "pipe.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert named.returncode == 2 and "not a regular file" in named.stderr


def _patched_open(victim: Path, error: Exception) -> Callable:
    real_open = open

    def fake_open(file, *args, **kwargs):
        if os.path.realpath(str(file)) == os.path.realpath(str(victim)):
            raise error
        return real_open(file, *args, **kwargs)

    return fake_open


def test_unreadable_file_reported_run_continues_exit_2(tmp_path: Path, monkeypatch):
    # As root, chmod 000 does not stop a read: the read itself is made to fail.
    root = _tree_with_one_good_file(tmp_path)
    (root / "secret.py").write_bytes(BLOCKING)
    monkeypatch.setattr(
        "builtins.open", _patched_open(root / "secret.py", PermissionError(13, "Permission denied"))
    )
    result = invoke("--apply", str(root))
    assert result.exit_code == 2
    assert f"error: {root / 'secret.py'}: cannot read: Permission denied" in result.stderr
    assert (root / "good.py").read_bytes() == fixed(BLOCKING)
    monkeypatch.undo()
    assert (root / "secret.py").read_bytes() == BLOCKING


def test_file_vanishing_between_scan_and_rewrite_is_reported(tmp_path: Path, monkeypatch):
    root = _tree_with_one_good_file(tmp_path)
    (root / "ghost.py").write_bytes(BLOCKING)
    real_build_index = engine.build_index

    def build_index_then_delete(*args, **kwargs):
        # After the scan read it, before the rewrite reads it (build_index runs again in later
        # rounds: the file is gone by then).
        (root / "ghost.py").unlink(missing_ok=True)
        return real_build_index(*args, **kwargs)

    monkeypatch.setattr(engine, "build_index", build_index_then_delete)
    result = invoke("--apply", str(root))
    assert result.exit_code == 2
    # The rewrite works on the bytes the run read once (engine: each file read and hashed once
    # per run), so the vanished file is caught at the write, which never recreates it.
    assert (
        f"error: {root / 'ghost.py'}: the file vanished during the run" in result.stderr
        or f"error: {root / 'ghost.py'}: cannot write: No such file" in result.stderr
    ), result.stderr
    assert (root / "good.py").read_bytes() == fixed(BLOCKING)
    assert not (root / "ghost.py").exists()


def test_file_vanishing_before_the_write_is_reported(tmp_path: Path, monkeypatch):
    root = _tree_with_one_good_file(tmp_path)
    (root / "ghost.py").write_bytes(BLOCKING)
    real_write = writer.write_atomic

    def delete_then_write(path, data, expected):
        if os.path.basename(path) == "ghost.py":
            os.unlink(path)
        return real_write(path, data, expected)

    monkeypatch.setattr(writer, "write_atomic", delete_then_write)
    result = invoke("--apply", str(root))
    assert result.exit_code == 2
    assert f"error: {root / 'ghost.py'}: cannot write:" in result.stderr
    assert (root / "good.py").read_bytes() == fixed(BLOCKING)
    assert not (root / "ghost.py").exists()  # not recreated
    assert sorted(p.name for p in root.iterdir()) == ["good.py"]  # no temporary file left


def test_symlink_loops_do_not_hang_the_walk(tmp_path: Path):
    root = _tree_with_one_good_file(tmp_path)
    (root / "a").mkdir()
    (root / "a" / "inner.py").write_bytes(BLOCKING)
    os.symlink(root, root / "a" / "up")  # a loop through the parent
    os.symlink(root / "b", root / "c")  # c -> b -> c
    os.symlink(root / "c", root / "b")
    os.symlink(root / "b", root / "loop.py")  # a *.py symlink into the loop
    os.symlink(root / "missing", root / "dangling.py")
    command = [sys.executable, "-m", "asyncfix", "--apply", "-j", "1", str(root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("rewrote") == 2
    assert (root / "a" / "inner.py").read_bytes() == fixed(BLOCKING)
    assert os.path.islink(root / "loop.py") and os.path.islink(root / "dangling.py")
