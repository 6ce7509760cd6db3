"""await_towers: a new ``(await x).m()`` too long for its line is split into the awaited call on
its own line and the method call on its result, only where that is exact; the split code runs
and returns what the original returns (real subprocesses here; real SQLite in
test_sqlalchemy_to_async.py, whose rewritten queries are checked for the split form below)."""

from __future__ import annotations

import asyncio
import types

import pytest
from conftest import check_noop, check_transformed, rewrite

SELECT = {"select": ["subprocess_to_asyncio"]}
LONG = '["git", "describe", "--tags", "--dirty", "--always"]'


def _module(body: str, head: str = "import subprocess\n") -> str:
    return f"{head}\n\nasync def version():\n{body}"


def _after(body: str, head: str = "import asyncio\nimport subprocess\n") -> str:
    return f"{head}\n\nasync def version():\n{body}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            f"    version = subprocess.check_output({LONG}).strip()\n    return version\n",
            "    output = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    version = output.strip()\n"
            "    return version\n",
            id="assignment-split-output",
        ),
        pytest.param(
            f"    return subprocess.check_output({LONG}).decode().strip()\n",
            "    output = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    return output.decode().strip()\n",
            id="return-chain-of-two-calls",
        ),
        pytest.param(
            "    # the tag, or the commit\n"
            f"    version: bytes = subprocess.check_output({LONG})[:-1]\n"
            "    return version\n",
            "    # the tag, or the commit\n"
            "    output = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    version: bytes = output[:-1]\n"
            "    return version\n",
            id="annotated-subscript-comment-stays-above",
        ),
        pytest.param(
            f"    subprocess.run({LONG}, check=True).check_returncode()\n",
            "    result = await asyncio.to_thread(\n"
            f"        subprocess.run, {LONG}, check=True\n"
            "    )\n"
            "    result.check_returncode()\n",
            id="expression-statement-run-result",
        ),
        pytest.param(
            "    output = 'taken'\n"
            f"    version = subprocess.check_output({LONG}).strip()\n"
            "    return output, version\n",
            "    output = 'taken'\n"
            "    result = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    version = result.strip()\n"
            "    return output, version\n",
            id="output-taken-result-used",
        ),
        pytest.param(
            f"    a = subprocess.check_output({LONG}).strip()\n"
            f"    b = subprocess.check_output({LONG}).strip()\n"
            "    return a, b\n",
            "    output = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    a = output.strip()\n"
            "    output = await asyncio.to_thread(\n"
            f"        subprocess.check_output, {LONG}\n"
            "    )\n"
            "    b = output.strip()\n"
            "    return a, b\n",
            id="own-name-reused",
        ),
    ],
)
def test_split(body, expected):
    check_transformed(_module(body), _after(expected), **SELECT)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "    output, result = 1, 2\n"
            f"    version = subprocess.check_output({LONG}).strip()\n"
            "    return output, result, version\n",
            id="both-names-taken",
        ),
        pytest.param(
            "    def nested():\n"
            "        return output, result\n\n"
            f"    version = subprocess.check_output({LONG}).strip()\n"
            "    return nested, version\n",
            id="names-read-in-a-nested-scope",
        ),
        pytest.param(
            "    version = b''\n"
            f"    version += subprocess.check_output({LONG}).strip()\n"
            "    return version\n",
            id="augmented-target-read-first",
        ),
        pytest.param(
            f"    return b'v' + subprocess.check_output({LONG}).strip()\n",
            id="operand-evaluated-first",
        ),
        pytest.param(
            f"    return b'v' or subprocess.check_output({LONG}).strip()\n",
            id="short-circuit",
        ),
        pytest.param(
            f"    return [subprocess.check_output({LONG}).strip()]\n",
            id="inside-a-display",
        ),
    ],
)
def test_tower_kept(body):
    out, diagnostics = rewrite(_module(body), **SELECT)
    assert diagnostics == []
    lines = out.splitlines()
    assert not any(line.endswith("= await asyncio.to_thread(") for line in lines)
    assert "output.strip()" not in out and "result.strip()" not in out
    assert any(line.strip() == ").strip()" for line in lines)  # black's tower: left to black
    compile(out, "t.py", "exec")


def test_fits_on_its_line_stays_one_line():
    check_transformed(
        _module('    return subprocess.check_output(["git", "log"]).strip()\n'),
        _after(
            '    return (await asyncio.to_thread(subprocess.check_output, ["git", "log"])).strip()\n'
        ),
        **SELECT,
    )


def test_two_statements_on_a_line_are_left_as_black_leaves_them():
    out, _ = rewrite(_module(f"    a = 1; v = subprocess.check_output({LONG}).strip()\n"), **SELECT)
    assert "output =" not in out and "result =" not in out
    compile(out, "t.py", "exec")


def test_a_tower_the_user_wrote_is_not_touched():
    source = (
        "import subprocess\n\n\n"
        "async def version(read):\n"
        "    tag = (await read(['git', 'describe', '--tags', '--dirty', '--always', '--abbrev=12'])).strip()\n"
        f"    return tag, subprocess.check_output({LONG})\n"
    )
    out, _ = rewrite(source, **SELECT)
    assert source.splitlines()[4] in out.splitlines()
    assert "output =" not in out and "result =" not in out


SOURCE = """\
import subprocess
import sys


async def version():
    return subprocess.check_output([sys.executable, "-c", "print('  v1.2.3-4-gabcdef  ')"], text=True).strip()


async def both():
    first = subprocess.check_output([sys.executable, "-c", "print(' one ')"], text=True, stderr=subprocess.STDOUT).strip()
    second = subprocess.run([sys.executable, "-c", "import sys; sys.exit(3)"], capture_output=True, text=True).returncode
    return first, second
"""


def test_split_code_runs_and_returns_what_the_original_returns():
    out, diagnostics = rewrite(SOURCE, **SELECT)
    assert diagnostics == []
    assert "    output = await asyncio.to_thread(\n" in out
    assert "    return output.strip()\n" in out and "    first = output.strip()\n" in out
    assert "    second = result.returncode\n" in out and ").strip()" not in out
    before, after = types.ModuleType("towers_before"), types.ModuleType("towers_after")
    exec(compile(SOURCE, "towers_before.py", "exec"), before.__dict__)
    exec(compile(out, "towers_after.py", "exec"), after.__dict__)
    for name in ("version", "both"):
        expected = asyncio.run(getattr(before, name)())
        assert asyncio.run(getattr(after, name)()) == expected
    assert asyncio.run(after.both()) == ("one", 3)


def test_no_async_function_no_split():
    check_noop(
        f"import subprocess\n\n\ndef version():\n    return subprocess.check_output({LONG}).strip()\n",
        **SELECT,
    )


def test_no_split_without_black():
    """--no-format: black makes no tower of the long line, so it stays one statement."""
    source = _module(f"    return subprocess.check_output({LONG}).strip()\n")
    out, _ = rewrite(source, fmt=False, **SELECT)
    assert out.endswith(
        f"    return (await asyncio.to_thread(subprocess.check_output, {LONG})).strip()\n"
    )


def test_the_projects_black_line_length_decides(tmp_path, monkeypatch):
    """[tool.black] line-length = 120: the 122-character line is split, the 92-character one
    (too long for black's default 88) fits and stays one line."""
    from asyncfix import cli
    from click.testing import CliRunner

    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 120\n")
    (tmp_path / "app.py").write_text(
        _module(
            '    version = subprocess.check_output(["git", "describe", "--tags", "--dirty",'
            ' "--always"]).strip()\n'
            '    short = subprocess.check_output(["git", "rev-parse"]).strip()\n'
            "    return version, short\n"
        )
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["--no-cache", "--apply", "app.py"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "app.py").read_text() == _after(
        '    output = await asyncio.to_thread(subprocess.check_output, ["git", "describe",'
        ' "--tags", "--dirty", "--always"])\n'
        "    version = output.strip()\n"
        '    short = (await asyncio.to_thread(subprocess.check_output, ["git", "rev-parse"]))'
        ".strip()\n"
        "    return version, short\n"
    )
