"""Line diffs of a text before and after a rewrite, as ``difflib`` opcodes.

``difflib.SequenceMatcher`` looks for the longest match again in every gap between matches, so
on a big file whose lines repeat (blank lines, ``return`` lines) it goes quadratic: a 9,000-line
file with one changed line took 20 s per diff. A rewrite changes a few places, so the lines both
texts share at the start and at the end are taken as equal first and the matcher sees only what
lies between, and what lies between is diffed by Myers' algorithm (O((N+M)D) for D edits: a
rewrite at the top and one at the bottom of a big file are a handful of edits), falling back to
the matcher past ``LIMIT`` edits. Where two equal lines could each be the changed one, this may
name another one than the whole-text matcher would; both are a correct diff.
"""

from __future__ import annotations

import difflib
from typing import Callable, List, Optional, Sequence, Tuple

Opcode = Tuple[str, int, int, int, int]
LIMIT = 400  # edits Myers' algorithm looks for before the matcher takes over


def opcodes(
    old: Sequence[str], new: Sequence[str], junk: Optional[Callable[[str], bool]] = None
) -> List[Opcode]:
    """``SequenceMatcher(junk, old, new, autojunk=False).get_opcodes()``, the shared head and
    tail of the two taken as equal without the matcher (module docstring)."""
    shortest = min(len(old), len(new))
    head = 0
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    found: List[Opcode] = [("equal", 0, head, 0, head)] if head else []
    a, b = old[head : len(old) - tail], new[head : len(new) - tail]
    blocks = _myers(a, b, LIMIT)
    if blocks is None:
        middle = difflib.SequenceMatcher(junk, a, b, autojunk=False).get_opcodes()
    else:
        middle = _opcodes(blocks, len(a), len(b))
    for tag, i1, i2, j1, j2 in middle:
        found.append((tag, head + i1, head + i2, head + j1, head + j2))
    if tail:
        found.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return found


def _myers(old: Sequence[str], new: Sequence[str], limit: int) -> Optional[List[Tuple[int, int]]]:
    """The equal lines (i, j) of a shortest edit script of ``old`` -> ``new``, in order; None
    when it takes more than ``limit`` edits."""
    n, m = len(old), len(new)
    if not n or not m:
        return []
    v = {1: 0}
    trace = []
    for d in range(min(limit, n + m) + 1):
        trace.append(dict(v))  # the furthest x on each diagonal k after d - 1 edits
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[k - 1] < v[k + 1]):
                x = v[k + 1]  # down: an insert
            else:
                x = v[k - 1] + 1  # right: a delete
            y = x - k
            while x < n and y < m and old[x] == new[y]:
                x, y = x + 1, y + 1
            v[k] = x
            if x >= n and y >= m:
                return _back(trace, n, m)
    return None


def _back(trace: List[dict], x: int, y: int) -> List[Tuple[int, int]]:
    """The diagonal steps of the path the forward pass found, walked back from (x, y)."""
    pairs = []
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        if d == 0:
            previous_x = previous_y = 0
        else:
            previous_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
            previous_x = v[previous_k]
            previous_y = previous_x - previous_k
        while x > previous_x and y > previous_y:
            x, y = x - 1, y - 1
            pairs.append((x, y))
        x, y = previous_x, previous_y
    pairs.reverse()
    return pairs


def _opcodes(pairs: List[Tuple[int, int]], n: int, m: int) -> List[Opcode]:
    """``get_opcodes()``'s form of the equal pairs of a diff of ``n`` and ``m`` lines."""
    found: List[Opcode] = []
    i = j = 0
    runs: List[Tuple[int, int, int]] = []
    for x, y in pairs:
        if runs and runs[-1][0] + runs[-1][2] == x and runs[-1][1] + runs[-1][2] == y:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((x, y, 1))
    for x, y, size in runs + [(n, m, 0)]:
        if i < x and j < y:
            found.append(("replace", i, x, j, y))
        elif i < x:
            found.append(("delete", i, x, j, j))
        elif j < y:
            found.append(("insert", i, i, j, y))
        if size:
            found.append(("equal", x, x + size, y, y + size))
        i, j = x + size, y + size
    return found
