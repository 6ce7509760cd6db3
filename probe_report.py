"""The loop probe's report: each stall attributed to the line that blocked the loop, grouped by
location, and described as an asyncfix diagnostic (``path:line:col: PROBE001 ...``) or JSON.

The watchdog (probe_loop.py) samples stacks as code objects and instruction offsets, because
that costs the loop thread nothing; here, after the run, they become lines, columns and the call
on the line (``time.sleep``), the library function the line entered (followed through the
module's globals for C code) and the chain of project frames from the test down to the line.
"""

from __future__ import annotations

import linecache
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # imported where used: an inactive plugin costs pytest no import
    import ast

    from .probe_loop import Stall

CODE = "PROBE001"
HINT = (
    "a blocking call in async code stalls every other request on the loop: use an async "
    "library (asyncfix rewrites many such calls), `await asyncio.to_thread(...)`, or a plain "
    "`def` route, which FastAPI runs in a thread"
)
# A stack position: (code object, f_lasti, f_lineno, module name).
Site = Tuple[Any, int, int, str]
# (innermost project frame, innermost frame, the frame that project frame called (None: C code
# or project code), the project frames from the outermost to the innermost)
Sample = Tuple[Optional[Site], Site, Optional[Site], Tuple[Site, ...]]


@dataclass
class Group:
    """Stalls with the same attributed location."""

    path: str
    line: int
    column: int
    function: str
    project: bool
    seconds: List[float] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    innermost: Counter = field(default_factory=Counter)
    tests: List[str] = field(default_factory=list)
    sampled: bool = True
    # what the project line called, qualified ("" unknown) -> samples; the project frames
    # (path, line, function) from the outermost to the innermost -> samples
    callees: Counter = field(default_factory=Counter)
    chains: Counter = field(default_factory=Counter)

    @property
    def worst_ms(self) -> float:
        return max(self.seconds) * 1000.0

    @property
    def total_ms(self) -> float:
        return sum(self.seconds) * 1000.0

    def top(self, counter: Counter) -> Optional[str]:
        return counter.most_common(1)[0][0] if counter else None

    def message(self) -> str:
        count = len(self.seconds)
        if count == 1:
            text = f"the event loop was blocked for {self.worst_ms:.0f} ms"
        else:
            text = (
                f"the event loop was blocked {count} times, worst {self.worst_ms:.0f} ms, "
                f"total {self.total_ms:.0f} ms"
            )
        if not self.sampled:
            text += f" during {self.function} (no stack sample: too short, or the GIL was held)"
            return text
        text += f" in {self.function}"
        call, innermost = self.top(self.calls), self.top(self.innermost)
        details = []
        if call and call != innermost:
            details.append(f"call: {call}")
        if innermost:
            details.append(f"innermost: {innermost}")
        if not self.project:
            details.append("no project frame")
        return f"{text} ({'; '.join(details)})" if details else text

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {CODE} {self.message()} (hint: {HINT})"

    def as_json(self) -> Dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "function": self.function,
            "call": self.top(self.calls),
            "innermost": self.top(self.innermost),
            "project": self.project,
            "count": len(self.seconds),
            "worst_ms": round(self.worst_ms, 1),
            "total_ms": round(self.total_ms, 1),
            "tests": self.tests,
            "sampled": self.sampled,
            "callee": self.top(self.callees) or None,
            "chain": [list(link) for link in self.top(self.chains) or ()],
        }


class StallReport:
    """LoopProbe's report side (a mixin): its stalls grouped by the line that blocked."""

    threshold: float
    stalls: List["Stall"]
    errors: List[str]
    is_project: Callable[[str], bool]

    def groups(self, rootdir: str, locations: Dict[str, Tuple[str, int, str]]) -> List[Group]:
        """The stalls grouped by location, in path and line order.

        A stall is attributed to the line seen in most of its samples (the innermost project
        frame, else the innermost frame). When one stall spans several blocking lines (calls that
        ran back to back with no await that suspends between them), each other line whose share
        of the samples stands for at least the threshold is reported too, with that share of the
        duration; the line seen most gets the rest. ``locations`` maps a test nodeid to its
        (path, 1-based line, name): a stall with no sample is placed on the test that was running.
        """
        groups: Dict[Tuple[str, int, str], Group] = {}

        def group_for(key: Tuple[str, int, str], column: int, **kwargs: Any) -> Group:
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key[0], key[1], column, key[2], **kwargs)
            return group

        for stall in self.stalls:
            by_line: Dict[Tuple[str, int, str], List[Sample]] = {}
            for sample in stall.samples:
                site = sample[0] or sample[1]
                by_line.setdefault((site[0].co_filename, site[2], _qualname(site[0])), []).append(
                    sample
                )
            if not by_line:
                path, line, name = locations.get(stall.test or "", ("<unknown>", 0, "the session"))
                group = group_for((path, line, name), 0, project=True, sampled=False)
                group.seconds.append(stall.seconds)
                if stall.test and stall.test not in group.tests:
                    group.tests.append(stall.test)
                continue
            ranked = sorted(by_line.items(), key=lambda item: -len(item[1]))
            shares = [stall.seconds * len(samples) / len(stall.samples) for _, samples in ranked]
            kept = [rank for rank, share in enumerate(shares) if rank and share >= self.threshold]
            shares[0] = stall.seconds - sum(shares[rank] for rank in kept)  # the rest: the top line
            for rank, ((filename, _line, function), samples) in enumerate(ranked):
                if rank and rank not in kept:
                    continue
                seconds = shares[rank]
                sites = Counter(sample[0] or sample[1] for sample in samples)
                site = sites.most_common(1)[0][0]
                line, column, _call = _position(site)
                key = (_display(filename, rootdir), line, function)
                group = group_for(key, column, project=samples[0][0] is not None)
                group.seconds.append(seconds)
                for site_seen, count in sites.items():
                    call = _position(site_seen)[2]
                    if call:
                        group.calls[call] += count
                for project, innermost, entry, chain in samples:
                    group.innermost[self._innermost(innermost)] += 1
                    if project is not None:
                        try:  # reads source lines and module globals: never lose the report
                            group.callees[self._callee(project, entry)] += 1
                            group.chains[tuple(_link(s, rootdir) for s in chain)] += 1
                        except Exception as error:  # pragma: no cover - a bug, reported
                            self.errors.append(f"{type(error).__name__}: {error}")
                if stall.test and stall.test not in group.tests:
                    group.tests.append(stall.test)
        return [groups[key] for key in sorted(groups)]

    def _callee(self, project: Site, entry: Optional[Site]) -> str:
        """The qualified name of what the innermost project frame called: the library function
        whose frame is next (``vendor.client.fetch``), or for a call into C code the call on the
        line, resolved through the module's globals (``fastlib.block``); "" if neither."""
        call = _position(project)[2]
        if not call:
            return ""
        if entry is None:
            return _qualify(call, project[3])
        # Only the function the line's call names (``fetch`` for ``vendor.fetch()``, a class's
        # ``__init__`` for ``vendor.Client()``): a frame further in (Python code that C code the
        # line called calls back: an enum a compiled validator builds) is not what the line did.
        code, _lasti, _line, module = entry
        qualname = _qualname(code)
        if not module or call.rpartition(".")[2] not in qualname.split("."):
            return ""
        return f"{module}.{qualname}"

    def _innermost(self, site: Site) -> str:
        """What the innermost frame was doing: the call on a project line, else the function."""
        code, _lasti, _line, module = site
        if not self.is_project(code.co_filename):
            return f"{module}.{_qualname(code)}" if module else _qualname(code)
        return _position(site)[2] or f"Python code in {_qualname(code)}"


def _link(site: Site, rootdir: str) -> Tuple[str, int, str]:
    return (_display(site[0].co_filename, rootdir), site[2], _qualname(site[0]))


def _qualify(call: str, module_name: str) -> str:
    """``fastlib.block`` (the call's text) in module ``app.api`` -> the qualified name of the
    object it names: a module's ``__name__`` plus the rest, or a function's or class's
    ``__module__`` and ``__qualname__``. "" when the name cannot be followed (locals, calls)."""
    if not call or "(" in call or "[" in call or not module_name:
        return ""
    module = sys.modules.get(module_name)
    head, *rest = call.split(".")
    value = getattr(module, "__dict__", {}).get(head) if module is not None else None
    if value is None:
        import builtins

        value = getattr(builtins, head, None)
        if value is None:
            return ""
    try:  # any object: a proxy's attributes may raise anything
        if isinstance(value, type(sys)):
            return ".".join([value.__name__, *rest])
        owner = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", None)
    except Exception:
        return ""
    if isinstance(owner, str) and isinstance(qualname, str):
        return ".".join([owner, qualname, *rest])
    return ""


def site_of(frame: Any) -> Site:
    # f_lineno is None on an instruction with no line (Python 3.11+): the def's line stands in
    line = frame.f_lineno or frame.f_code.co_firstlineno
    return (frame.f_code, frame.f_lasti, line, frame.f_globals.get("__name__") or "")


def _qualname(code: Any) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _display(filename: str, rootdir: str) -> str:
    path = os.path.abspath(filename)
    try:
        relative = os.path.relpath(path, rootdir)
    except ValueError:  # another drive
        return path
    if relative.startswith(os.pardir):
        return path
    return relative.replace(os.sep, "/")


_POSITIONS: Dict[Any, List[Tuple[Optional[int], ...]]] = {}
_RESOLVED: Dict[Tuple[Any, int, int], Tuple[int, int, Optional[str]]] = {}


def _position(site: Site) -> Tuple[int, int, Optional[str]]:
    """(line, 1-based column, the called function's name or None) of a frame's instruction."""
    code, lasti, lineno, _module = site
    key = (code, lasti, lineno)
    resolved = _RESOLVED.get(key)
    if resolved is None:
        resolved = _RESOLVED[key] = _resolve(code, lasti, lineno)
    return resolved


def _resolve(code: Any, lasti: int, lineno: int) -> Tuple[int, int, Optional[str]]:
    lines = linecache.getlines(code.co_filename)
    positions = None
    if hasattr(code, "co_positions") and lasti >= 0:  # Python 3.11+: exact column ranges
        positions = _POSITIONS.get(code)
        if positions is None:
            positions = _POSITIONS[code] = list(code.co_positions())
    if positions is not None and lasti // 2 < len(positions):
        start, end, col, end_col = positions[lasti // 2]
        if start and end and col is not None and end_col is not None and start <= len(lines):
            segment = _segment(lines, start, end, col, end_col)
            return start, _char_column(lines[start - 1], col) + 1, _callee_of(segment)
    # Older Pythons: the line's indentation and its outermost call.
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    column = len(line) - len(line.lstrip()) + 1
    return lineno, column, _callee_of(line.strip())


def _segment(lines: Sequence[str], start: int, end: int, col: int, end_col: int) -> str:
    """Source between two (line, UTF-8 byte offset) positions."""
    chunk = [line.encode("utf-8") for line in lines[start - 1 : end]]
    if not chunk:
        return ""
    if len(chunk) == 1:
        return chunk[0][col:end_col].decode("utf-8", "replace")
    chunk[0], chunk[-1] = chunk[0][col:], chunk[-1][:end_col]
    return b"".join(chunk).decode("utf-8", "replace")


def _char_column(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def _callee_of(source: str) -> Optional[str]:
    """``time.sleep`` for ``time.sleep(0.2)``; None if the source is not a call."""
    import ast

    source = source.strip()
    if not source:
        return None
    tree = None
    for text in (source, f"({source})", source.rstrip(":")):
        try:
            tree = ast.parse(text)
            break
        except SyntaxError:
            continue
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            return _name_of(node.func)
    return None


def _name_of(node: ast.AST) -> str:
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name_of(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_name_of(node.func)}(...)"
    if isinstance(node, ast.Subscript):
        return f"{_name_of(node.value)}[...]"
    return "(...)"
