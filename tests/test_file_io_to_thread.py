"""file_io_to_thread: unit cases, and the runtime claim on real files: every rewritten function
returns (or raises) what the original does, and the file work runs off the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from asyncfix.codemods.engine import Settings, transform_source
from asyncfix.codemods.program_facts import ProjectIndex
from conftest import check_noop, check_transformed, load_module, rewrite

SELECT = {"select": ["file_io_to_thread"], "fmt": False}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import os\nasync def f(p):\n    return os.path.exists(p)\n",
            "import asyncio\nimport os\n\nasync def f(p):\n"
            "    return await asyncio.to_thread(os.path.exists, p)\n",
            id="os-path",
        ),
        pytest.param(
            "from pathlib import Path\nasync def f(p):\n    return Path(p).read_text().upper()\n",
            "import asyncio\nfrom pathlib import Path\n\nasync def f(p):\n"
            "    return (await asyncio.to_thread(Path(p).read_text)).upper()\n",
            id="path-call-precedence",
        ),
        pytest.param(
            "async def f(p):\n    with open(p) as f:\n        data = f.read()\n    return data\n",
            "import asyncio\n\n\nasync def f(p):\n    def _read_file():\n        with open(p) as f:\n"
            "            data = f.read()\n        return data\n"
            "    data = await asyncio.to_thread(_read_file)\n    return data\n",
            id="with-open-read",
        ),
        pytest.param(
            "_read_file = 1\nasync def f(p):\n    with open(p) as f:\n        return f.read()\n",
            "import asyncio\n\n_read_file = 1\nasync def f(p):\n    def _read_file2():\n"
            "        with open(p) as f:\n            return f.read()\n"
            "    return await asyncio.to_thread(_read_file2)\n",
            id="helper-name-is-free",
        ),
        pytest.param(
            # The nested def is local to its coroutine: each coroutine has its own `_read_file`.
            "async def f(p):\n    with open(p) as f:\n        return f.read()\n"
            "async def g(p):\n    with open(p) as f:\n        return f.read()\n",
            "import asyncio\n\n\nasync def f(p):\n    def _read_file():\n        with open(p) as f:\n"
            "            return f.read()\n    return await asyncio.to_thread(_read_file)\n"
            "async def g(p):\n    def _read_file():\n        with open(p) as f:\n"
            "            return f.read()\n    return await asyncio.to_thread(_read_file)\n",
            id="helper-name-per-coroutine",
        ),
        pytest.param(
            # Two blocks in one coroutine: the second is named for what it hands back.
            "async def f(p, q):\n    with open(p) as a:\n        head = a.read()\n"
            "    with open(q) as b:\n        tail = b.read()\n    return head + tail\n",
            "import asyncio\n\n\nasync def f(p, q):\n    def _read_file():\n        with open(p) as a:\n"
            "            head = a.read()\n        return head\n    head = await asyncio.to_thread(_read_file)\n"
            "    def _read_tail():\n        with open(q) as b:\n            tail = b.read()\n"
            "        return tail\n    tail = await asyncio.to_thread(_read_tail)\n    return head + tail\n",
            id="helper-name-second-block",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, **SELECT)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param(
            "async def f(p, n):\n    with open(p) as f:\n        n = n + len(f.read())\n    return n\n",
            "ASYNC230",
            id="reads-a-name-it-assigns",
        ),
        pytest.param(
            "async def f(p):\n    with open(p) as f:\n        for line in f:\n            pass\n",
            "ASYNC230",
            id="compound-statement-in-block",
        ),
        pytest.param(
            "async def f(p):\n    with open(p) as f:\n        await g(f.read())\n",
            "ASYNC230",
            id="awaits",
        ),
        pytest.param(
            "async def f(p):\n    with open(p) as f, open(p) as g:\n        pass\n",
            "ASYNC230",
            id="two-files",
        ),
        pytest.param(
            "from pathlib import Path\nasync def f(p: Path):\n    return list(p.glob('*'))\n",
            "ASYNC240",
            id="lazy-glob",
        ),
    ],
)
def test_reported(source: str, code: str):
    diagnostics = check_noop(source, **SELECT)
    assert [d.code for d in diagnostics] and {d.code for d in diagnostics} == {code}


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import os\ndef f(p):\n    return os.path.exists(p)\n", id="sync-def"),
        pytest.param(
            "from pathlib import Path\nasync def f(p):\n    p = 1\n    return p.exists()\n",
            id="not-a-path",
        ),
        pytest.param(
            "from pathlib import Path\nasync def f(p: Path):\n    p = g()\n    return p.exists()\n",
            id="rebound-path-parameter",
        ),
        pytest.param(
            "import os\nasync def f(p):\n    return os.path.exists(p)  # asyncfix: ignore\n",
            id="opt-out",
        ),
        pytest.param(
            "import os\nasync def f(p):\n    return os.path.dirname(os.path.join(p, 'x'))\n",
            id="pure-path-functions",
        ),
    ],
)
def test_noop(source: str):
    assert check_noop(source, **SELECT) == []


# -- runtime: the same results on real files -------------------------------------------------

ORIGINAL = """
import json
import os
from pathlib import Path

async def read(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text


async def head_rest(path):
    with open(path, "rb") as f:
        head = f.read(3)
        rest = f.read()
    return head, rest


async def save(path, payload):
    with open(path, "w") as out:
        json.dump(payload, out)
    with open(path) as f:
        return json.load(f)


async def append(path, line):
    with open(path, "a") as f:
        f.write(f"{line}\\n")
    return open(path).read()


async def path_methods(p: Path):
    p.write_text("x\\r\\ny", newline="")
    return p.read_bytes(), p.exists(), p.is_file(), p.stat().st_size


async def os_path(name):
    return os.path.exists(name), os.path.isdir(name), os.path.getsize(name)


async def missing(name):
    with open(name) as f:
        return f.read()


async def write(path):
    with open(path, "w") as f:
        f.write("x")
"""


def _outcome(coroutine):
    try:
        return asyncio.run(coroutine)
    except OSError as error:
        return (type(error).__name__, error.errno)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("file_io_app")
    original = folder / "original.py"
    original.write_text(ORIGINAL)
    settings = Settings(codemods=("file_io_to_thread",))
    outcome = transform_source(original.read_bytes(), str(original), settings, ProjectIndex())
    assert outcome.diagnostics == []
    assert outcome.rewrites == {"file_io_to_thread": 16}
    rewritten = folder / "rewritten.py"
    rewritten.write_bytes(outcome.new)
    return load_module(original, "io_original"), load_module(rewritten, "io_rewritten")


def test_same_results_on_real_files(modules, tmp_path: Path):
    original, rewritten = modules
    for module, folder in ((original, tmp_path / "a"), (rewritten, tmp_path / "b")):
        folder.mkdir()
        text = folder / "text.txt"
        text.write_bytes("héllo\r\nwörld\n".encode("utf-8"))
        results = [
            _outcome(module.read(str(text))),
            _outcome(module.head_rest(text)),
            _outcome(module.save(folder / "data.json", {"a": [1, 2]})),
            _outcome(module.append(str(folder / "log"), "one")),
            _outcome(module.append(str(folder / "log"), "two")),
            _outcome(module.path_methods(folder / "p.txt")),
            _outcome(module.os_path(str(text))),
            _outcome(module.missing(str(folder / "nope"))),
        ]
        if module is original:
            expected = results
        else:
            assert results == expected
    assert expected[0] == "héllo\nwörld\n"  # universal newlines, utf-8
    assert expected[4] == "one\ntwo\n"
    assert expected[7] == ("FileNotFoundError", 2)


def test_the_file_work_runs_in_a_worker_thread(modules, tmp_path: Path, monkeypatch):
    main = threading.current_thread()
    for module, expected_in_main in zip(modules, (True, False)):
        threads = []

        def recording_open(*args, **kwargs):
            threads.append(threading.current_thread())
            return open(*args, **kwargs)

        monkeypatch.setattr(module, "open", recording_open, raising=False)
        path = tmp_path / f"{module.__name__}.txt"
        _outcome(module.write(path))
        assert path.read_text() == "x"
        assert threads and (threads[0] is main) == expected_in_main


def test_rewrite_is_stable():
    out, _ = rewrite(ORIGINAL, **SELECT)
    again, _ = rewrite(out, **SELECT)
    assert again == out
