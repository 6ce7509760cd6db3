"""Engine internals that the CLI tests do not reach directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfix.codemods import engine, reduce, transform
from asyncfix.codemods.engine import transform_standalone
from conftest import DEFAULT_SETTINGS, GOLDEN, golden_case, golden_outcome

INPUTS = sorted(GOLDEN.glob("*/*.before.py")) + sorted(GOLDEN.glob("*/*.noop.py"))


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reduced_big_file_path_gives_the_same_output(path: Path, monkeypatch):
    """Every golden input through the big-file path (only relevant top-level statements given
    to libcst, the rest stubbed and spliced back) comes out exactly as through the full parse,
    diagnostics included."""
    full = golden_outcome(path)  # pinned by tests/test_golden.py
    monkeypatch.setattr(reduce, "BIG_FILE_LINES", 0)
    reduced = transform_standalone(path.read_bytes(), golden_case(path), DEFAULT_SETTINGS)
    assert reduced.new == full.new
    assert reduced.diagnostics == full.diagnostics


def test_big_file_with_one_sleep_is_rewritten_through_the_reduced_path(monkeypatch):
    parts = ["import os", "import time", ""]
    for i in range(3000):
        parts.append(f"def f{i}(x):\n    return os.path.join(str(x), 'a{i}')\n")
    parts.append("async def main():\n    time.sleep(1)\n")
    source = "\n".join(parts).encode()
    seen = []
    original = transform.parse
    monkeypatch.setattr(transform, "parse", lambda data: seen.append(data) or original(data))
    outcome = transform_standalone(source, "big.py", DEFAULT_SETTINGS)
    # `import asyncio` takes the place isort gives it; the unused `import time` goes.
    assert outcome.new == source.replace(
        b"    time.sleep(1)", b"    await asyncio.sleep(1)"
    ).replace(b"import os\nimport time\n", b"import asyncio\nimport os\n")
    # libcst saw the reduced text (placeholders), not the 3000 functions.
    assert seen and all(data.count(b"def ") == 1 for data in seen)


# -- the first pass decides which files reach libcst ------------------------------------------

# Codemods whose wants() reads what the first pass saw in coroutines (ASYNC_NAMES/ASYNC_TARGETS).
PRECISE = (
    "sleep_to_asyncio",
    "requests_to_httpx",
    "file_io_to_thread",
    "subprocess_to_asyncio",
    "blocking_to_executor",
    "cpu_to_executor",
)


def _always(cls, source, path="", project=None):
    return True


def _await_old(cls, source, path="", project=None):  # every file with actions, findings too
    return project is not None and path in project.actions


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_pass_skips_only_files_with_nothing_to_do(path: Path, monkeypatch):
    """The precise first-pass checks only save work: with every codemod given every golden
    input (and the await machinery's findings reported through libcst), output and
    diagnostics are the same."""
    from asyncfix.codemods.gates import GATE_BY_NAME  # the engine asks the gates

    precise = golden_outcome(path)
    for name in PRECISE:
        monkeypatch.setattr(GATE_BY_NAME[name], "wants", classmethod(_always))
    monkeypatch.setattr(GATE_BY_NAME["await_coroutines"], "wants", classmethod(_await_old))
    forced = transform_standalone(path.read_bytes(), golden_case(path), DEFAULT_SETTINGS)
    assert precise.new == forced.new
    assert precise.diagnostics == forced.diagnostics


def _wanted(source: str) -> set:
    from asyncfix.codemods.gates import GATE_BY_NAME

    data = source.encode()
    reason, facts = engine.scan_source(data, "m.py", DEFAULT_SETTINGS)
    assert reason is None
    project = engine.build_index({"m.py": facts}, DEFAULT_SETTINGS)
    return {name for name in PRECISE if GATE_BY_NAME[name].wants(data, "m.py", project)}


@pytest.mark.parametrize(
    "source, wanted",
    [
        # the qualified name, through any import style, wherever the import stands
        ("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n", set()),
        ("from time import sleep as nap\nasync def f():\n    nap(1)\n", {"sleep_to_asyncio"}),
        ("async def f():\n    import time as t\n    t.sleep(1)\n", {"sleep_to_asyncio"}),
        ("import time\nasync def f(x=time.sleep):\n    pass\n", set()),
        ("import time\nasync def f():\n    g(time.sleep)\n", {"sleep_to_asyncio"}),
        # a module-level client used in a coroutine; a parameter that only looks like one
        (
            "import requests\ns = requests.Session()\nasync def f(u):\n    return s.get(u)\n",
            {"requests_to_httpx"},
        ),
        ("async def f(requests):\n    return requests.url\n", set()),
        (
            "from urllib.request import urlopen\nasync def f(u):\n    urlopen(u)\n",
            {"requests_to_httpx"},
        ),
        # Path methods only where pathlib is imported; open/os.path by name
        ("async def f(self):\n    return self.path.exists()\n", set()),
        (
            "from pathlib import Path\nasync def f(p: Path):\n    return p.read_text()\n",
            {"file_io_to_thread"},
        ),
        ("async def f(p):\n    return open(p).read()\n", {"file_io_to_thread"}),
        (
            "from os import path\nasync def f(p):\n    return path.exists(p)\n",
            {"file_io_to_thread"},
        ),
        ("import os\nasync def f():\n    return os.getpid()\n", set()),
        ("from os import system\nasync def f():\n    system('ls')\n", {"subprocess_to_asyncio"}),
        ("async def f(request):\n    return request.input\n", set()),
        ("async def f():\n    return input()\n", {"blocking_to_executor"}),
        (
            "import hashlib\nasync def f(pw):\n    return hashlib.pbkdf2_hmac('sha256', pw, b'', 1)\n",
            {"cpu_to_executor"},
        ),
        ("import hashlib\nasync def f(pw):\n    return hashlib.sha256(pw)\n", set()),
        # a def that becomes async: all of its code is new async code
        (
            "import time\nasync def g():\n    pass\n"
            "def f(requests):\n    g()\n    time.sleep(1)\n    return requests.url\n",
            {"sleep_to_asyncio", "requests_to_httpx"},
        ),
    ],
)
def test_first_pass_precision(source: str, wanted: set):
    assert _wanted(source) == wanted


def test_await_findings_are_reported_without_libcst(monkeypatch):
    source = (
        b"async def fetch(x):\n    return x\n\n\n"
        b"class A:\n    def __len__(self):\n        fetch(1)\n        return 0\n"
    )
    expected = transform_standalone(source, "m.py", DEFAULT_SETTINGS)
    assert [d.code for d in expected.diagnostics] == ["AWAIT001"]

    def no_libcst(data):
        raise AssertionError("libcst parse")

    monkeypatch.setattr(transform, "parse", no_libcst)
    outcome = transform_standalone(source, "m.py", DEFAULT_SETTINGS)
    assert outcome.new == source and outcome.diagnostics == expected.diagnostics
    ignored = source.replace(b"fetch(1)\n", b"fetch(1)  # asyncfix: ignore\n")
    assert transform_standalone(ignored, "m.py", DEFAULT_SETTINGS).diagnostics == []


def test_reduced_path_keeps_defs_using_a_module_level_client(monkeypatch):
    """`S = requests.Session()` at module level: a def that only says `S.get` is relevant."""
    source = b"import requests\nS = requests.Session()\nasync def f(u):\n    return S.get(u)\n"
    full = transform_standalone(source, "m.py", DEFAULT_SETTINGS)
    assert [d.code for d in full.diagnostics] == ["ASYNC210"]
    monkeypatch.setattr(reduce, "BIG_FILE_LINES", 0)
    assert transform_standalone(source, "m.py", DEFAULT_SETTINGS).diagnostics == full.diagnostics
