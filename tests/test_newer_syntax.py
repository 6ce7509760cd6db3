"""Syntax newer than the running Python is analysed (codemods/syntax.py), never silently
skipped; what nothing parses is a notice ("needs Python >= X"), not a failure."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from asyncfix.cli import main
from asyncfix.codemods import newer_text, syntax
from asyncfix.codemods.engine import scan_source, transform_standalone
from asyncfix.codemods.results import MODULE_FACTS
from click.testing import CliRunner
from conftest import DEFAULT_SETTINGS

PEP695 = (
    "import time\n"
    "\n"
    "\n"
    "async def fetch[T](item: T) -> T:\n"
    "    return item\n"
    "\n"
    "\n"
    "def helper[T: (int, str) = int](x: T) -> T:\n"
    "    return x\n"
    "\n"
    "\n"
    "class Box[T]:\n"
    "    async def run(self, x: T) -> None:\n"
    "        time.sleep(1)\n"
    "        helper(x)\n"
    "        fetch(x)\n"
    "\n"
    "\n"
    "type Pair[T] = tuple[T, T]\n"
)
TSTRING = (
    "import time\n"
    "\n"
    "\n"
    "async def greet(name):\n"
    "    time.sleep(1)\n"
    '    return t"hi {name!r:>{width()}}"\n'
)


def invoke(*args: str):
    return CliRunner().invoke(main, ["--no-cache", "-j", "1", *args], catch_exceptions=False)


def test_pep695_file_gets_facts_and_is_rewritten():
    reason, facts = scan_source(PEP695.encode(), "/p/mod.py", DEFAULT_SETTINGS)
    assert reason is None
    module = facts[MODULE_FACTS]
    assert {"fetch", "helper", "Box.run"} <= set(module.defs)
    assert module.defs["fetch"].is_async and not module.defs["helper"].is_async
    calls = {(call.owner, call.target, call.line, call.span) for call in module.calls}
    # where the file has them (the callee: `helper` of `        helper(x)`), columns in characters
    assert ("Box.run", "helper", 15, (15, 8, 15, 14)) in calls
    assert ("Box.run", "fetch", 16, (16, 8, 16, 13)) in calls

    outcome = transform_standalone(PEP695.encode(), "mod.py", DEFAULT_SETTINGS, "/p/mod.py")
    new = outcome.new.decode()
    assert "await asyncio.sleep(1)" in new
    assert "await fetch(x)" in new  # a coroutine with type params, called without await
    assert "        helper(x)\n" in new  # the sync helper stays a plain call
    assert "def helper[T: (int, str) = int](x: T) -> T:" in new
    assert "type Pair[T] = tuple[T, T]" in new


def test_tstring_file_is_analysed_and_rewritten(tmp_path: Path):
    (tmp_path / "t.py").write_text(TSTRING)
    result = invoke(str(tmp_path))
    assert result.exit_code == 1  # a change found, nothing failed
    assert "+    await asyncio.sleep(1)\n" in result.stdout
    assert "0 failed" in result.stderr and "not analysed" not in result.stderr


@pytest.mark.parametrize(
    "source, kept",
    [
        ('def f[T: "é" = int](x=g()):\n    h(x)\n', ["g()", "h(x)"]),
        ("def f[\n    T,  # a comment\n    U,\n](x=g()):\n    h(x)\n", ["g()", "h(x)"]),
        ("type X[T] = list[T]\nif y:\n    type Z = k()\n", ["X", "list[T]", "k()"]),
        (
            'x = f"{"é"} {a.b()!r:>{w()}} {f"{c()}"}" "s" f"""{\n  d()  # c\n}"""\n',
            ["a.b()", "w()", "c()", "d()"],
        ),
        ("try:\n    pass\nexcept A, B:\n    e()\n", ["A", "B", "e()"]),
        ('s = t"{a()}" + rt"{b()}"\n', ["a()", "b()"]),
        ("lazy import os\nx = [*g() for g in gs]\n", ["os", "g()"]),
    ],
)
def test_equivalent_text_keeps_every_kept_token_in_place(source: str, kept):
    text, failed = newer_text.equivalent_text(source.encode())
    assert failed is None and text is not None
    tree = ast.parse(text)
    original = source.encode()
    found = set()
    for node in ast.walk(tree):
        if hasattr(node, "end_col_offset") and node.lineno == node.end_lineno:
            line = original.splitlines()[node.lineno - 1]
            found.add(line[node.col_offset : node.end_col_offset].decode())
    for token in kept:
        assert token in found, (token, text)
    assert len(text.encode().splitlines()) == len(original.splitlines())


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses t-strings")
def test_file_nothing_parses_is_a_notice_not_a_failure(tmp_path: Path, monkeypatch):
    # libcst of this environment parses t-strings; an older one (or a newer construct) does
    # not: then the file is not analysed, and says why.
    real = newer_text.equivalent_text
    monkeypatch.setattr(
        newer_text,
        "equivalent_text",
        lambda source: (None, (6, 12, "unexpected")) if b't"' in source else real(source),
    )
    (tmp_path / "t.py").write_text(TSTRING)
    (tmp_path / "ok.py").write_text("def f():\n    return 1\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 0
    assert "needs Python >= 3.14 (a t-string at line 6" in result.stderr
    assert "note: " in result.stderr and "t.py: not analysed: needs Python >= 3.14" in result.stderr
    assert "0 failed" in result.stderr
    assert "; 1 file not analysed (needs a newer Python)" in result.stderr
    result = invoke("-q", str(tmp_path))
    assert "not analysed" not in result.stderr and result.exit_code == 0


def test_real_syntax_errors_still_fail(tmp_path: Path):
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 2
    assert "error: " in result.stderr and "syntax error" in result.stderr
    assert "not analysed" not in result.stderr


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses t-strings")
def test_syntax_error_after_newer_syntax_is_reported_where_it_is(tmp_path: Path):
    (tmp_path / "bad.py").write_text('x = t"{a}"\n\n\ndef f(:\n    pass\n')
    result = invoke(str(tmp_path))
    assert result.exit_code == 2
    # libcst's position: where its parser gave up, on the line after the error here
    assert "syntax error at line 5, column 1: expected one of ), *, **, NAME" in result.stderr
    assert "not analysed" not in result.stderr


def test_parse_reads_newer_syntax_for_codemods_that_parse_again():
    tree = syntax.parse("def f[T](x: T):\n    g(x)\n")
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call))
    assert (call.lineno, call.col_offset) == (2, 4)
    with pytest.raises(SyntaxError):
        syntax.parse("def f(:\n    pass\n")


def test_cpu_bound_call_in_a_pep695_coroutine(tmp_path: Path):
    (tmp_path / "a.py").write_text(
        "import hashlib\n\n\nasync def f[T](x: T):\n"
        '    return hashlib.pbkdf2_hmac("sha256", b"x", b"y", 1000)\n'
    )
    result = invoke(str(tmp_path))
    assert result.exit_code == 1, result.stderr
    assert "asyncio.to_thread(hashlib.pbkdf2_hmac" in result.stdout
