"""The first pass's cache (codemods/cache.py): used when it is right, never when it is not."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.codemods import cache, engine

SLEEPY = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
HELPER = "async def fetch():\n    return 1\n"
CALLER = "from helper import fetch\n\n\ndef use():\n    return fetch()\n"


def _tree(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "sleepy.py").write_text(SLEEPY)
    (project / "helper.py").write_text(HELPER)
    (project / "caller.py").write_text(CALLER)
    return project


def _run(project: Path, *args: str):
    return CliRunner().invoke(main, ["--dry-run", "-j", "1", *args, str(project)])


def _count_scans(monkeypatch) -> list:
    scanned: list = []
    original = engine.scan_source

    def counting(source, filename, settings):
        # Files as read from disk; the text a rewrite round made is scanned in memory (and never
        # cached: the cache holds what is on disk).
        if source == Path(filename).read_bytes():
            scanned.append(os.path.basename(filename))
        return original(source, filename, settings)

    monkeypatch.setattr(engine, "scan_source", counting)
    return scanned


def test_second_run_reads_the_cache_and_says_the_same(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    scanned = _count_scans(monkeypatch)
    first = _run(project)
    assert sorted(scanned) == ["caller.py", "helper.py", "sleepy.py"]
    scanned.clear()
    second = _run(project)
    assert scanned == []
    assert second.output == first.output and second.exit_code == first.exit_code == 1
    assert "await asyncio.sleep(1)" in first.output and "return await fetch()" in first.output


def test_a_changed_file_is_scanned_again_and_its_new_facts_are_used(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    scanned = _count_scans(monkeypatch)
    _run(project)
    scanned.clear()
    # helper.fetch is no longer a coroutine: caller.py must not get an await any more
    (project / "helper.py").write_text("def fetch():\n    return 1\n")
    result = _run(project)
    assert scanned == ["helper.py"]
    assert "await fetch()" not in result.output
    assert "caller.py" not in result.output


def test_a_corrupt_or_foreign_entry_is_a_miss(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    first = _run(project)
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(entries) == 3
    for number, entry in enumerate(entries):
        data = entry.read_bytes()
        entry.write_bytes([b"", data[:-7], b"garbage" + data][number])
    scanned = _count_scans(monkeypatch)
    again = _run(project)
    assert sorted(scanned) == ["caller.py", "helper.py", "sleepy.py"]
    assert again.output == first.output


def test_other_codemods_or_no_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    _run(project)
    scanned = _count_scans(monkeypatch)
    _run(project, "--select", "sleep_to_asyncio")  # other collectors: its own entries
    assert len(scanned) == 3
    assert len(list((tmp_path / "cache").iterdir())) == 2
    scanned.clear()
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "unused"))
    _run(project, "--no-cache")
    assert len(scanned) == 3 and not (tmp_path / "unused").exists()


def test_an_unwritable_cache_directory_does_not_fail_the_run(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker))
    project = _tree(tmp_path)
    result = _run(project)
    assert result.exit_code == 1 and "await asyncio.sleep(1)" in result.output


def test_the_key_covers_the_tool_code(tmp_path: Path, monkeypatch):
    """An entry written by other asyncfix code is never read: the directory is per tool digest,
    which hashes every module of the package."""
    names = ("sleep_to_asyncio",)
    before = cache.tool_digest(names)
    real = Path.read_bytes

    def edited(self):
        data = real(self)
        return data + b"# edited" if self.name == "engine.py" else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert cache.tool_digest(names) != before
