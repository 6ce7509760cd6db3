"""Every CLI mode and exit code, through click's test runner (and the installed script)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from asyncfix.cli import main
from click.testing import CliRunner

BLOCKING = b'import time\n\n\nasync def wait():\n    time.sleep(0.2)\n    return {"msg": "done"}\n'
FIXED = b'import asyncio\n\n\nasync def wait():\n    await asyncio.sleep(0.2)\n    return {"msg": "done"}\n'
SYNC = b"import time\n\n\ndef wait():\n    time.sleep(0.2)\n"


def invoke(*args: str, input: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "routes.py").write_bytes(BLOCKING)
    (tmp_path / "app" / "sync_routes.py").write_bytes(SYNC)
    return tmp_path


def test_dry_run_is_the_default_prints_a_diff_and_writes_nothing(project: Path):
    before = (project / "app" / "routes.py").read_bytes()
    result = invoke(str(project))
    assert result.exit_code == 1
    assert f"--- a/{str(project).lstrip('/')}/app/routes.py\n" in result.stdout
    assert "+    await asyncio.sleep(0.2)" in result.stdout
    assert "-    time.sleep(0.2)" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when stdout is not a terminal
    assert (project / "app" / "routes.py").read_bytes() == before
    assert "2 files scanned, 1 would change, 1 unchanged, 0 failed" in result.stderr
    assert "sleep_to_asyncio 1" in result.stderr


def test_dry_run_exits_0_when_nothing_would_change(project: Path):
    (project / "app" / "routes.py").write_bytes(FIXED)
    result = invoke("--dry-run", str(project))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_apply_writes_then_check_and_second_apply_find_nothing(project: Path):
    result = invoke("--apply", str(project))
    assert result.exit_code == 0
    assert "rewrote" in result.stdout and "routes.py" in result.stdout
    assert (project / "app" / "routes.py").read_bytes() == FIXED
    assert (project / "app" / "sync_routes.py").read_bytes() == SYNC
    again = invoke("--apply", str(project))
    assert again.exit_code == 0 and "rewrote" not in again.stdout
    assert invoke("--check", str(project)).exit_code == 0


def test_check_lists_files_without_a_diff(project: Path):
    result = invoke("--check", str(project))
    assert result.exit_code == 1
    assert result.stdout.strip() == f"would rewrite {project / 'app' / 'routes.py'}"


def test_modes_are_exclusive(project: Path):
    result = invoke("--apply", "--check", str(project))
    assert result.exit_code == 2
    assert "choose one of" in result.stderr


def test_syntax_error_is_reported_good_files_still_rewritten_exit_2(project: Path):
    broken = project / "app" / "broken.py"
    broken.write_bytes(b"async def f(:\n    time.sleep(1)\n")
    result = invoke("--apply", str(project))
    assert result.exit_code == 2
    assert f"error: {broken}: syntax error at line 1, column 13: invalid syntax" in result.stderr
    assert broken.read_bytes() == b"async def f(:\n    time.sleep(1)\n"
    assert (project / "app" / "routes.py").read_bytes() == FIXED
    assert "1 failed" in result.stderr


def test_missing_path_is_an_error_after_the_rest(project: Path):
    result = invoke("--apply", str(project / "nope.py"), str(project))
    assert result.exit_code == 2
    assert "nope.py: no such file or directory" in result.stderr
    assert (project / "app" / "routes.py").read_bytes() == FIXED


def test_crlf_stays_crlf(tmp_path: Path):
    path = tmp_path / "crlf.py"
    path.write_bytes(BLOCKING.replace(b"\n", b"\r\n"))
    assert invoke("--apply", str(path)).exit_code == 0
    assert path.read_bytes() == FIXED.replace(b"\n", b"\r\n")


def test_stdin_to_stdout():
    result = invoke("-", input=BLOCKING)
    assert result.exit_code == 0
    assert result.stdout_bytes == FIXED
    assert invoke("--check", "-", input=BLOCKING).exit_code == 1
    assert invoke("--check", "-", input=FIXED).exit_code == 0


def test_stdin_syntax_error_passes_source_through_and_exits_2():
    result = invoke("-", input=b"def (\n")
    assert result.exit_code == 2
    assert result.stdout_bytes == b"def (\n"


def test_select_ignore_and_unknown_names(project: Path):
    assert invoke("--select", "sleep_to_asyncio", str(project)).exit_code == 1
    assert invoke("--ignore", "sleep_to_asyncio", str(project)).exit_code == 0
    result = invoke("--select", "sleep_to_asyncio,nope", str(project))
    assert result.exit_code == 2
    assert "unknown codemod 'nope'" in result.stderr
    assert "valid: " in result.stderr and "sleep_to_asyncio" in result.stderr


def test_list_codemods():
    result = invoke("--list-codemods")
    assert result.exit_code == 0
    assert "sleep_to_asyncio" in result.stdout
    assert "await asyncio.sleep" in result.stdout


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("asyncfix, version ")


def test_default_excludes_and_exclude_option(project: Path):
    for excluded in (".venv", "build", "node_modules", "__pycache__"):
        (project / excluded).mkdir()
        (project / excluded / "x.py").write_bytes(BLOCKING)
    (project / "myenv").mkdir()
    (project / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / "myenv" / "x.py").write_bytes(BLOCKING)
    result = invoke("--check", str(project))
    assert result.stdout.count("would rewrite") == 1
    result = invoke("--check", "--exclude", "app", str(project))
    assert result.exit_code == 0 and "0 would change" in result.stderr
    result = invoke("--check", "--exclude", "app/routes.py", str(project))
    assert result.exit_code == 0


def test_symlink_loop_does_not_hang_and_links_are_not_written_over(project: Path):
    os.symlink(project, project / "app" / "loop")
    os.symlink(project / "app" / "routes.py", project / "link.py")
    result = invoke("--apply", str(project))
    assert result.exit_code == 0
    assert result.stdout.count("rewrote") == 1
    assert os.path.islink(project / "link.py")


def test_config_in_pyproject_and_command_line_wins(project: Path):
    # Everything that acts on a `time.sleep` in a coroutine: the rewrite, and the blocking-call
    # families that would report (BLOCK002) or demote what the rewrite leaves.
    ignored = '["sleep_to_asyncio", "offload_to_thread", "demote_to_def"]'
    (project / "pyproject.toml").write_text(f"[tool.asyncfix]\nignore = {ignored}\n")
    assert invoke("--check", str(project)).exit_code == 0
    assert invoke("--check", "--ignore", "", str(project)).exit_code == 1


def test_bad_config_is_a_usage_error(project: Path):
    (project / "pyproject.toml").write_text("[tool.asyncfix]\nselekt = []\n")
    result = invoke(str(project))
    assert result.exit_code == 2
    assert "unknown key [tool.asyncfix] 'selekt'" in result.stderr


def test_formatting_uses_project_black_settings_and_can_be_disabled(tmp_path: Path):
    source = b"import time\n\n\nasync def f(x):\n    time.sleep( x )\n    y = {'a':1}\n"
    path = tmp_path / "f.py"
    path.write_bytes(source)
    invoke("--apply", str(path))
    # Only the changed line is formatted; the untouched dict keeps its quotes and spacing.
    assert path.read_bytes() == source.replace(
        b"time.sleep( x )", b"await asyncio.sleep(x)"
    ).replace(b"import time", b"import asyncio")
    path.write_bytes(source)
    invoke("--apply", "--no-format", str(path))
    assert b"await asyncio.sleep( x )" in path.read_bytes()
    (tmp_path / "pyproject.toml").write_text("[tool.asyncfix]\nformat = false\n")
    path.write_bytes(source)
    invoke("--apply", str(path))
    assert b"await asyncio.sleep( x )" in path.read_bytes()


def test_apply_keeps_file_mode(tmp_path: Path):
    path = tmp_path / "script.py"
    path.write_bytes(b"#!/usr/bin/env python\n" + BLOCKING)
    path.chmod(0o751)
    assert invoke("--apply", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["script.py"]


def test_quiet_prints_no_summary(project: Path):
    result = invoke("--quiet", "--apply", str(project))
    assert result.stderr == "" and result.stdout == ""


def test_verbose_lists_unchanged(project: Path):
    result = invoke("--verbose", str(project))
    assert "unchanged" in result.stderr and "sync_routes.py" in result.stderr


def test_jobs_1_and_2_give_identical_output(tmp_path: Path):
    for i in range(12):
        (tmp_path / f"m{i:02}.py").write_bytes(BLOCKING if i % 3 else SYNC)
    (tmp_path / "bad.py").write_bytes(b"x = (\n")
    one = invoke("--jobs", "1", str(tmp_path))
    two = invoke("--jobs", "2", str(tmp_path))
    assert one.exit_code == two.exit_code == 2
    assert one.stdout == two.stdout and one.stderr == two.stderr
    assert one.stdout.count("+++ b/") == 8


def test_installed_console_script_and_module(project: Path):
    """The package is installed (the README's commands do it): its script and `-m` both work."""
    script_path = Path(sys.executable).parent / "asyncfix"
    script_path = str(script_path) if script_path.exists() else shutil.which("asyncfix")
    assert script_path, "the asyncfix console script is not installed"
    script = subprocess.run([script_path, "--check", str(project)], capture_output=True, text=True)
    assert script.returncode == 1 and "would rewrite" in script.stdout
    module = subprocess.run(
        [sys.executable, "-m", "asyncfix", "--version"], capture_output=True, text=True
    )
    assert module.returncode == 0 and "asyncfix, version" in module.stdout
