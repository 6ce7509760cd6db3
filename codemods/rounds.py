"""Diagnostics over the rounds of one run (engine: a run repeats until a round changes nothing).

A round's diagnostics name lines of that round's input. The text as written is the input of the
last round, so its diagnostics are what ``--check`` on the written file reports: what is still
wrong. Some diagnostics are notes on a rewrite the round made (``HTTPX001 the httpx.Response of
this call is handed to other code``): the next round no longer sees the code they were about, yet
the reviewer must. Those, the diagnostics on lines the round changed, are carried to the text as
written, their lines mapped through the change; one the last round makes again (same code and
message) is not repeated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Dict, List, Sequence, Set

from . import linediff
from .diagnostic import Diagnostic

# Diagnostics about what is left, never notes on a rewrite: recomputed on the text as written,
# and dropped where another diagnostic already names the line.
RESIDUAL = frozenset({"BLOCK002"})


def _blank(line: str) -> bool:
    return not line.strip()


def _line_map(old: str, new: str) -> Dict[int, int]:
    """1-based line of ``old`` -> the line of ``new`` it became (a replaced line: the first
    line of its replacement, or the next line that stayed)."""
    mapping: Dict[int, int] = {}
    for tag, i1, i2, j1, j2 in linediff.opcodes(old.splitlines(), new.splitlines(), _blank):
        for offset, line in enumerate(range(i1, i2)):
            if tag == "equal":
                mapping[line + 1] = j1 + offset + 1
            else:
                mapping[line + 1] = min(j1 + offset, max(j1, j2 - 1)) + 1
    return mapping


def _changed_lines(old: str, new: str) -> Set[int]:
    return {
        line + 1
        for tag, i1, i2, _, _ in linediff.opcodes(old.splitlines(), new.splitlines(), _blank)
        if tag != "equal"
        for line in range(i1, i2)
    }


def carry(
    notes: Sequence[Diagnostic], diagnostics: Sequence[Diagnostic], old: str, new: str
) -> List[Diagnostic]:
    """After a round that turned ``old`` into ``new``: the notes to keep, on lines of ``new``.
    ``notes`` are those kept from earlier rounds (on lines of ``old``), ``diagnostics`` the
    round's own (on lines of ``old``); of these, the ones on lines the round changed are notes."""
    changed = _changed_lines(old, new)
    mapping = _line_map(old, new)
    kept = [
        *notes,
        *(
            d
            for d in diagnostics
            if d.line in changed and d not in notes and d.code not in RESIDUAL
        ),
    ]
    return [replace(d, line=mapping.get(d.line, d.line)) for d in kept]


def final(diagnostics: Sequence[Diagnostic], notes: Sequence[Diagnostic]) -> List[Diagnostic]:
    """The last round's diagnostics, plus the carried notes it does not repeat, in line order."""
    named = {d.line for d in diagnostics if d.code not in RESIDUAL}
    diagnostics = [d for d in diagnostics if d.code not in RESIDUAL or d.line not in named]
    # A note's line moved with the rewrite, the last round's did not: match on what it says.
    again = Counter((d.code, d.message) for d in diagnostics)
    extra = []
    for note in notes:
        if again[note.code, note.message]:
            again[note.code, note.message] -= 1
        else:
            extra.append(note)
    if not extra:
        return list(diagnostics)
    return sorted([*diagnostics, *extra], key=lambda d: (d.line, d.column, d.code))


def as_read(diagnostics: Sequence[Diagnostic], old: str, new: str) -> List[Diagnostic]:
    """Diagnostics on lines of ``new`` moved to the lines of ``old`` they come from: for a run
    that does not write (``--dry-run``, ``--check``), the file as it stands is the reference."""
    if old == new or not diagnostics:
        return list(diagnostics)
    mapping = _line_map(new, old)
    return [replace(d, line=mapping.get(d.line, d.line)) for d in diagnostics]
