"""Engine internals that the CLI tests do not reach directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfix.codemods import engine
from asyncfix.codemods.engine import transform_standalone
from conftest import DEFAULT_SETTINGS, GOLDEN

INPUTS = sorted(GOLDEN.glob("*/*.before.py")) + sorted(GOLDEN.glob("*/*.noop.py"))


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reduced_big_file_path_gives_the_same_output(path: Path, monkeypatch):
    """Every golden input through the big-file path (only relevant top-level statements given
    to libcst, the rest stubbed and spliced back) comes out exactly as through the full parse,
    diagnostics included."""
    source = path.read_bytes()
    full = transform_standalone(source, path.name, DEFAULT_SETTINGS)
    monkeypatch.setattr(engine, "BIG_FILE_LINES", 0)
    reduced = transform_standalone(source, path.name, DEFAULT_SETTINGS)
    assert reduced.new == full.new
    assert reduced.diagnostics == full.diagnostics


def test_big_file_with_one_sleep_is_rewritten_through_the_reduced_path(monkeypatch):
    parts = ["import os", "import time", ""]
    for i in range(3000):
        parts.append(f"def f{i}(x):\n    return os.path.join(str(x), 'a{i}')\n")
    parts.append("async def main():\n    time.sleep(1)\n")
    source = "\n".join(parts).encode()
    seen = []
    original = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda data: seen.append(data) or original(data))
    outcome = transform_standalone(source, "big.py", DEFAULT_SETTINGS)
    assert outcome.new == source.replace(b"    time.sleep(1)", b"    await asyncio.sleep(1)").replace(
        b"import time\n", b"import time\nimport asyncio\n"
    ).replace(b"import os\nimport time\nimport asyncio\n", b"import os\nimport asyncio\n")
    # libcst saw the reduced text (placeholders), not the 3000 functions.
    assert seen and all(data.count(b"def ") == 1 for data in seen)
