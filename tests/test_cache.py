"""The first pass's cache (codemods/cache.py): used when it is right, never when it is not."""

from __future__ import annotations

import os
from pathlib import Path

from asyncfix.cli import main
from asyncfix.codemods import cache, engine, scan
from asyncfix.codemods.files import SourceFile
from click.testing import CliRunner

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
    original = scan.scan_source

    def counting(source, filename, settings, *args):
        # Files as read from disk; the text a rewrite round made is scanned in memory (and never
        # cached: the cache holds what is on disk).
        # A file the prefilter surveys and then collects is read once, scanned twice: once here.
        if source == Path(filename).read_bytes() and os.path.basename(filename) not in scanned:
            scanned.append(os.path.basename(filename))
        return original(source, filename, settings, *args)

    monkeypatch.setattr(scan, "scan_source", counting)
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
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    entries = [p for p in files if p.parent.name not in ("runs", "rewrites", "index")]
    rewrites = [p for p in files if p.parent.name == "rewrites"]  # memo.py's
    assert len(entries) == 3 and len(rewrites) == 6  # rounds 1 and 2 (every file: facts moved)
    # kept_index.py's: index, files, what reads saw, round 2's index
    index = [p for p in files if p.parent.name == "index"]
    assert len(index) == 4
    rewrites += index
    for kept_run in (tmp_path / "cache").rglob("runs"):
        for entry in kept_run.iterdir():
            entry.unlink()  # or the whole run is reused
    for number, entry in enumerate(entries + rewrites):
        data = entry.read_bytes()
        entry.write_bytes([b"", data[:-7], b"garbage" + data][number % 3])
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


def test_a_re_run_with_nothing_changed_reuses_the_whole_run(tmp_path: Path, monkeypatch):
    """Nothing is parsed, scanned, indexed or rewritten; the output is the same."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    first = _run(project)
    work: list = []
    for module, name in ((scan, "scan_file"), (engine, "build_index"), (engine, "process_file")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _o=original, _n=name, **k: work.append(_n) or _o(*a, **k)
        )
    second = _run(project)
    assert work == []
    assert second.output == first.output and second.exit_code == first.exit_code == 1
    # --dry-run and --check differ in what they print, not in the results: both reuse it
    (project / "sleepy.py").write_text(SLEEPY + "\n")
    third = _run(project)
    assert work and "await asyncio.sleep(1)" in third.output


def test_the_run_key_sees_settings_files_and_packages(tmp_path: Path):
    project = _tree(tmp_path)
    files = [("a.py", str(project / "helper.py"), b"x")]
    key = cache.run_key("settings", files)
    assert key == cache.run_key("settings", list(files))
    assert key != cache.run_key("other settings", files)
    assert key != cache.run_key("settings", [("a.py", str(project / "helper.py"), b"y")])
    assert key != cache.run_key("settings", [("b.py", str(project / "helper.py"), b"x")])
    (project / "__init__.py").write_text("")  # module names change: resolution may
    assert key != cache.run_key("settings", files)


def test_the_settings_key_is_the_same_in_every_process(tmp_path: Path):
    """Sets (black's target versions) are written sorted: the hash seed does not matter."""
    import subprocess
    import sys

    code = (
        "import black, dataclasses; from asyncfix.codemods.cache import canonical;"
        "from conftest import DEFAULT_SETTINGS;"
        "v = {black.TargetVersion.PY39, black.TargetVersion.PY310, black.TargetVersion.PY311};"
        "mode = black.Mode(target_versions=v);"
        "print(canonical(dataclasses.replace(DEFAULT_SETTINGS, black_mode=mode)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=str(Path(__file__).parent),
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_the_names_are_the_registry_in_order():
    """codemods.NAMES (what the CLI and the cache key use without importing any codemod)."""
    from asyncfix.codemods import NAMES, REGISTRY

    assert NAMES == tuple(codemod.NAME for codemod in REGISTRY)


def _imported(stderr: str) -> set:
    """The modules `python -X importtime` reported loading."""
    return {
        line.split("|")[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_reused_run_imports_neither_libcst_nor_black_nor_a_codemod(tmp_path: Path):
    """The warm path: a run whose results come from the cache loads only the CLI, the cache and
    the renderers, and prints exactly what the run that computed them printed."""
    import subprocess
    import sys

    from asyncfix.codemods import REGISTRY

    project = _tree(tmp_path)
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path / "cache"), "NO_COLOR": "1"}

    def asyncfix(*args: str):
        command = [sys.executable, "-X", "importtime", "-m", "asyncfix", "-j", "1", *args]
        done = subprocess.run(
            [*command, str(project)], capture_output=True, text=True, env=env, cwd=str(tmp_path)
        )
        lines = done.stderr.splitlines()
        said = "\n".join(line for line in lines if not line.startswith("import time:"))
        return done.returncode, done.stdout, said, _imported(done.stderr)

    heavy = {"libcst", "black", "asyncfix.codemods.registry", "asyncfix.codemods.engine"}
    heavy |= {codemod.__module__ for codemod in REGISTRY}
    cold = asyncfix("--dry-run")
    warm = asyncfix("--dry-run")
    assert heavy <= cold[3]  # the first run computes: it needs them all
    assert cold[0] == 1 and "await asyncio.sleep(1)" in cold[1]
    assert warm[:3] == cold[:3]
    assert not heavy & warm[3], sorted(heavy & warm[3])
    # --check prints otherwise from the same results: reused too, and as a computed run says
    computed, reused = asyncfix("--check", "--no-cache"), asyncfix("--check")
    assert computed[0] == 1 and reused[:3] == computed[:3]
    assert not heavy & reused[3], sorted(heavy & reused[3])
    (project / "helper.py").write_text(HELPER + "\n\nasync def more():\n    return 2\n")
    edited = asyncfix("--dry-run")
    # computed again (the first pass ran); no libcst: the edited file needs no rewrite and the
    # others' rewrites are kept (tests/test_imports.py)
    assert "asyncfix.codemods.scan" in edited[3] and edited[0] == 1
    assert edited[1] == cold[1]


def test_the_run_key_sees_the_black_table(tmp_path: Path):
    """Formatting is part of the output: another [tool.black] table is another run."""
    import dataclasses

    from conftest import DEFAULT_SETTINGS

    project = _tree(tmp_path)
    files = [SourceFile(str(project / "sleepy.py"), str(project / "sleepy.py"))]
    base = dataclasses.replace(DEFAULT_SETTINGS, black_mode=None, black={})
    key = cache.key_of_run(files, base)
    assert key == cache.key_of_run(files, dataclasses.replace(base, black_mode=object()))
    assert key != cache.key_of_run(files, dataclasses.replace(base, black={"line_length": 60}))
    assert key != cache.key_of_run(files, dataclasses.replace(base, black=None))


def _rewritten(monkeypatch) -> list:
    """The files engine.process_file rewrites (-j 1: in this process), by name."""
    done: list = []
    original = engine.process_file

    def counting(file, *args, **kwargs):
        done.append(os.path.basename(file.path))
        return original(file, *args, **kwargs)

    monkeypatch.setattr(engine, "process_file", counting)
    return done


def test_an_edit_rewrites_the_edited_file_and_the_files_that_depend_on_it(
    tmp_path: Path, monkeypatch
):
    """memo.py: a file's kept rewrite is used while its bytes and what the index says about
    it are the same: an edit that changes no fact rewrites the edited file alone; a helper made
    async in helper.py gives caller.py an await action: caller.py is rewritten again (and gains
    its await)."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    project = _tree(tmp_path)
    (project / "helper.py").write_text("def fetch():\n    return 1\n")
    (project / "other.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()\n")
    rewritten = _rewritten(monkeypatch)
    first = _run(project)
    assert "caller.py" not in first.output and "sleepy.py" in first.output
    # (sleepy.py twice: the second round confirms its rewrite)
    assert sorted(set(rewritten)) == ["caller.py", "helper.py", "other.py", "sleepy.py"]
    rewritten.clear()
    (project / "other.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()  # x\n")
    _run(project)  # an edit that changes no fact: only the edited file is rewritten
    assert rewritten == ["other.py"]
    rewritten.clear()
    (project / "helper.py").write_text(HELPER)
    second = _run(project)
    assert "caller.py" in second.output and "return await fetch()" in second.output
    assert {"caller.py", "helper.py"} <= set(rewritten)  # caller.py's bytes did not change
    monkeypatch.undo()
    assert second.output == _run(project, "--no-cache").output
