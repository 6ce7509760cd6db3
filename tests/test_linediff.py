"""linediff.opcodes: a valid diff of any two texts, never longer than difflib's; a big file
changed at both ends (difflib's quadratic case) is diffed without difflib's matcher."""

from __future__ import annotations

import difflib
import random

from asyncfix.codemods import linediff

LINES = ["", "x = 1", "def f():", "    pass", "    return 1", "import time", "await g()", ""]


def _blank(line: str) -> bool:
    return not line.strip()


def _edits(opcodes) -> int:
    return sum(i2 - i1 + j2 - j1 for tag, i1, i2, j1, j2 in opcodes if tag != "equal")


def test_opcodes_are_a_diff_of_the_two_texts():
    rng = random.Random(7)
    for _ in range(5000):
        old = [rng.choice(LINES) for _ in range(rng.randint(0, 12))]
        new = list(old)
        for _ in range(rng.randint(1, 3)):
            pick = rng.random()
            if pick < 0.4 and new:
                new[rng.randrange(len(new))] = rng.choice(LINES)
            elif pick < 0.7:
                new.insert(rng.randint(0, len(new)), rng.choice(LINES))
            elif new:
                del new[rng.randrange(len(new))]
        i = j = 0
        for tag, i1, i2, j1, j2 in linediff.opcodes(old, new, _blank):
            assert (i1, j1) == (i, j), (old, new)
            if tag == "equal":
                assert old[i1:i2] == new[j1:j2]
            else:
                assert tag in ("replace", "insert", "delete") and (i1 < i2 or j1 < j2)
            i, j = i2, j2
        assert (i, j) == (len(old), len(new))
        whole = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        assert _edits(linediff.opcodes(old, new)) <= _edits(whole)


def _recording(monkeypatch):
    seen = []
    real = difflib.SequenceMatcher

    def recording(junk, a, b, autojunk=True):
        seen.append((len(a), len(b)))
        return real(junk, a, b, autojunk=autojunk)

    monkeypatch.setattr(difflib, "SequenceMatcher", recording)
    return seen


def test_a_big_file_changed_at_both_ends_is_a_few_edits_without_the_matcher(monkeypatch):
    old = ["import os", "import time", ""]
    for i in range(3000):
        old += [f"def f{i}(x):", "    return x", ""]
    new = ["import asyncio", "import os", *old[2:-1], "    await asyncio.sleep(1)"]
    seen = _recording(monkeypatch)
    found = linediff.opcodes(old, new, _blank)
    assert seen == []  # the whole-text matcher took 13 s here
    assert [op for op in found if op[0] != "equal"] == [
        ("insert", 0, 0, 0, 1),
        ("delete", 1, 2, 2, 2),
        ("replace", 9002, 9003, 9002, 9003),
    ]


def test_past_the_limit_the_matcher_diffs_the_middle(monkeypatch):
    old = [f"a{i}" for i in range(linediff.LIMIT + 10)]
    new = ["head", *[f"b{i}" for i in range(linediff.LIMIT + 10)], "tail"]
    seen = _recording(monkeypatch)
    found = linediff.opcodes(old, new)
    assert seen == [(len(old), len(new))]
    assert found == [("replace", 0, len(old), 0, len(new))]
