"""Shared by the reliability tests (tests/test_reliability_*.py): the whole pipeline on one
source with every check of issue 9, and the mutations the fuzz tests apply to golden inputs.

Not a test module (no ``test_`` prefix); imported by the tests as ``reliability_support``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter
from typing import Callable, Dict, List, Optional, Tuple

from asyncfix.codemods import REGISTRY
from asyncfix.codemods.engine import InternalError, Settings, SourceError, transform_standalone
from asyncfix.codemods.formatting import black_mode

# Everything a user gets by default: every codemod, black on.
ALL = Settings(codemods=tuple(codemod.NAME for codemod in REGISTRY), black_mode=black_mode(None))

# The counts the reliability tests print at the end of the run (tests/conftest.py's terminal
# summary): "<test>: <what>" -> count.
COUNTS: Counter = Counter()

REJECTED = "rejected"  # SourceError: bad input, reported as such
REJECTED_VALID = "rejected although it compiles"
UNCHANGED = "unchanged"
REWRITTEN = "rewritten"


def _compiles(source: bytes) -> Optional[str]:
    try:
        compile(source, "fuzz.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def check_pipeline(source: bytes, settings: Settings = ALL, path: str = "fuzz.py") -> str:
    """Runs the whole pipeline on ``source`` and asserts issue 9's guarantees: no exception
    escapes except SourceError for bad input (an InternalError is a finding), the output
    compiles wherever the input did, and a fresh run on the output (new project index from
    the output alone) changes nothing. Returns REJECTED, REJECTED_VALID, UNCHANGED or
    REWRITTEN."""
    try:
        outcome = transform_standalone(source, path, settings)
    except SourceError:
        # Valid Python refused (e.g. nested deeper than libcst recurses) is reported, not a
        # crash; counted apart so that the printed counts show it.
        return REJECTED if _compiles(source) is not None else REJECTED_VALID
    except InternalError as error:
        raise AssertionError(f"internal error: {error}\n--- input ---\n{_show(source)}") from None
    new = outcome.new
    if new == source:
        return UNCHANGED
    problem = _compiles(new)
    if problem is not None and _compiles(source) is None:
        raise AssertionError(
            f"output does not compile ({problem})\n--- input ---\n{_show(source)}"
            f"\n--- output ---\n{_show(new)}"
        )
    try:
        again = transform_standalone(new, path, settings).new
    except (SourceError, InternalError) as error:
        raise AssertionError(
            f"second run failed: {error}\n--- input ---\n{_show(source)}\n--- output ---\n{_show(new)}"
        ) from None
    assert again == new, (
        f"not a fixed point\n--- input ---\n{_show(source)}\n--- output ---\n{_show(new)}"
        f"\n--- second run ---\n{_show(again)}"
    )
    return REWRITTEN


def _show(source: bytes) -> str:
    return source.decode("utf-8", "backslashreplace")


# -- mutations of golden inputs ----------------------------------------------------------------
# Each takes source text and returns a variant; a variant that does not compile is dropped by
# the caller (mutate()), so the mutations may be naive about rare shapes.

_FUTURE = re.compile(r"^from __future__ import [^\n]*\n", re.MULTILINE)


def _split_future(source: str) -> Tuple[str, str]:
    futures = "".join(match.group(0) for match in _FUTURE.finditer(source))
    return futures, _FUTURE.sub("", source)


def wrap_in_async_def(source: str) -> str:
    """The whole module becomes the body of a coroutine: imports are local, defs nested."""
    futures, body = _split_future(source)
    return futures + "async def _fuzz_outer():\n" + textwrap.indent(body or "pass\n", "    ")


def wrap_in_sync_def(source: str) -> str:
    """The whole module becomes the body of a sync function (an async def nested in it is
    still async; its own body is sync)."""
    futures, body = _split_future(source)
    return futures + "def _fuzz_outer():\n" + textwrap.indent(body or "pass\n", "    ")


def nest_in_class(source: str) -> str:
    """Module-level defs become methods (without self) of a class; imports class attributes."""
    futures, body = _split_future(source)
    return futures + "class _FuzzHolder:\n" + textwrap.indent(body or "pass\n", "    ")


def _lines_of(source: str) -> List[str]:
    """Lines as ``ast`` numbers them: split at newlines only (not at form feeds)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", source)


def _replace_statements(
    source: str, pick: Callable[[ast.stmt], bool], render: Callable[[str, str, ast.stmt], str]
) -> str:
    """Replace each single-line statement ``pick`` selects with ``render(indent, text, node)``."""
    tree = ast.parse(source)
    lines = _lines_of(source)
    targets = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno == node.end_lineno and pick(node):
            targets.append(node)
    for node in sorted(targets, key=lambda n: n.lineno, reverse=True):
        line = lines[node.lineno - 1].encode()  # ast columns count UTF-8 bytes
        prefix = line[: node.col_offset].decode()
        if prefix.strip():  # `if x: f()` or `a; f()`: not a statement alone on its line
            continue
        text = line[node.col_offset : node.end_col_offset].decode()
        rest = line[node.end_col_offset :].decode()
        ending = rest[len(rest.rstrip("\r\n")) :]
        lines[node.lineno - 1] = render(prefix, text, node) + rest.rstrip("\r\n") + ending
    return "".join(lines)


def _call_statement(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await))


def _call_assignment(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.value, (ast.Call, ast.Await))
    )


def calls_in_list_comprehensions(source: str) -> str:
    return _replace_statements(
        source, _call_statement, lambda indent, text, _: f"{indent}[{text} for _fuzz in range(1)]"
    )


def calls_in_generator_expressions(source: str) -> str:
    return _replace_statements(
        source,
        _call_statement,
        lambda indent, text, _: f"{indent}_fuzz_all = list({text} for _fuzz in range(1))",
    )


def calls_in_lambdas(source: str) -> str:
    return _replace_statements(
        source, _call_statement, lambda indent, text, _: f"{indent}(lambda: {text})()"
    )


def assignments_through_dict_comprehensions(source: str) -> str:
    def render(indent: str, text: str, node: ast.stmt) -> str:
        target, value = text.split("=", 1) if "=" in text else (text, "")
        return f"{indent}{target.rstrip()} = {{_fuzz: {value.strip()} for _fuzz in range(1)}}[0]"

    return _replace_statements(source, _call_assignment, render)


def backslash_continuations(source: str) -> str:
    def render(indent: str, text: str, node: ast.stmt) -> str:
        target, value = text.split("=", 1)
        return f"{indent}{target.rstrip()} = \\\n{indent}    {value.strip()}"

    return _replace_statements(source, _call_assignment, render)


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom)) and not (
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
    )


def _alias_text(alias: ast.alias) -> str:
    if alias.asname:
        return f"{alias.name} as {alias.asname}"
    return alias.name if "." in alias.name or alias.name == "*" else f"{alias.name} as {alias.name}"


def imports_aliased_to_themselves(source: str) -> str:
    """``import time`` -> ``import time as time``; ``from a import b`` -> ``from a import
    (b as b,)``: the same bindings, an odd spelling."""

    def render(indent: str, text: str, node: ast.stmt) -> str:
        names = ", ".join(_alias_text(alias) for alias in node.names)  # type: ignore[attr-defined]
        if isinstance(node, ast.Import):
            return f"{indent}import {names}"
        if names.strip() == "*":
            return f"{indent}{text}"
        module = "." * node.level + (node.module or "")  # type: ignore[attr-defined]
        return f"{indent}from {module} import (\n{indent}    {names},\n{indent})"

    return _replace_statements(source, _is_import, render)


def imports_in_try_blocks(source: str) -> str:
    """``import x`` -> ``try:\\n    import x\\nexcept ImportError:\\n    raise``."""

    def render(indent: str, text: str, node: ast.stmt) -> str:
        return f"{indent}try:\n{indent}    {text}\n{indent}except ImportError:\n{indent}    raise"

    return _replace_statements(source, _is_import, render)


def imports_on_one_line(source: str) -> str:
    """Each import also gets ``; pass`` (two statements on a line)."""
    return _replace_statements(source, _is_import, lambda indent, text, _: f"{indent}{text}; pass")


def tabs_for_indentation(source: str) -> str:
    return re.sub(r"^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), source, flags=re.M)


def crlf_line_endings(source: str) -> str:
    return source.replace("\r\n", "\n").replace("\n", "\r\n")


def no_final_newline(source: str) -> str:
    return source.rstrip("\r\n")


def form_feed_and_comments(source: str) -> str:
    return "\x0c\n# a comment before everything\n" + source.replace("\n\n\n", "\n\n\x0c\n", 1)


MUTATIONS: Dict[str, Callable[[str], str]] = {
    function.__name__: function
    for function in (
        wrap_in_async_def,
        wrap_in_sync_def,
        nest_in_class,
        calls_in_list_comprehensions,
        calls_in_generator_expressions,
        calls_in_lambdas,
        assignments_through_dict_comprehensions,
        backslash_continuations,
        imports_aliased_to_themselves,
        imports_in_try_blocks,
        imports_on_one_line,
        tabs_for_indentation,
        crlf_line_endings,
        no_final_newline,
        form_feed_and_comments,
    )
}


def mutate(source: str, names: List[str]) -> Tuple[str, List[str]]:
    """Applies the named mutations in order; one whose result does not compile (or that
    fails on a shape it does not know) is skipped. Returns the source and what was applied."""
    applied = []
    for name in names:
        try:
            candidate = MUTATIONS[name](source)
            compile(candidate, "mutant.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        if candidate != source:
            source = candidate
            applied.append(name)
    return source, applied
