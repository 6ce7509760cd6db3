"""subprocess_to_asyncio: unit cases, and the runtime claim on real subprocesses: every rewritten
function returns (or raises) what the original returns (or raises), and the loop runs meanwhile."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from asyncfix.codemods.engine import Settings, transform_source
from asyncfix.codemods.program_facts import ProjectIndex
from conftest import GOLDEN, check_noop, check_transformed, load_module, rewrite

SELECT = {"select": ["subprocess_to_asyncio"], "fmt": False}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import subprocess\nasync def f():\n    subprocess.run(['ls'], bufsize=1)\n",
            "import asyncio\nimport subprocess\n\nasync def f():\n"
            "    await asyncio.to_thread(subprocess.run, ['ls'], bufsize=1)\n",
            id="run-keeps-every-argument",
        ),
        pytest.param(
            "from subprocess import check_output\nasync def f():\n"
            "    return check_output(['git', 'rev-parse', 'HEAD']).strip()\n",
            "import asyncio\nfrom subprocess import check_output\n\nasync def f():\n"
            "    return (await asyncio.to_thread(check_output, ['git', 'rev-parse', 'HEAD'])).strip()\n",
            id="check-output-stays-one-line",
        ),
        pytest.param(
            "import os\nasync def f():\n    return os.system('true') == 0\n",
            "import asyncio\nimport os\n\nasync def f():\n"
            "    return await asyncio.to_thread(os.system, 'true') == 0\n",
            id="os-system",
        ),
        pytest.param(
            "import subprocess\nasync def f(kw):\n    return subprocess.check_output(['ls'], **kw)\n",
            "import asyncio\nimport subprocess\n\nasync def f(kw):\n"
            "    return await asyncio.to_thread(subprocess.check_output, ['ls'], **kw)\n",
            id="double-star",
        ),
        pytest.param(
            "import subprocess\nasync def f():\n"
            "    subprocess.run(['ls'], capture_output=True, stdout=None)\n",
            "import asyncio\nimport subprocess\n\nasync def f():\n"
            "    await asyncio.to_thread(subprocess.run, ['ls'], capture_output=True, stdout=None)\n",
            id="combination-subprocess-rejects-keeps-its-error",
        ),
        pytest.param(
            "import subprocess\nasync def f():\n    return subprocess.getstatusoutput('ls')\n",
            "import asyncio\nimport subprocess\n\nasync def f():\n"
            "    return await asyncio.to_thread(subprocess.getstatusoutput, 'ls')\n",
            id="getstatusoutput",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, **SELECT)


def test_no_helper_is_emitted():
    source = (
        "import subprocess\n\nasync def f():\n    subprocess.run(['a'])\n\n\n"
        "async def g():\n    return subprocess.call(['b'])\n"
    )
    out, diagnostics = rewrite(source, **SELECT)
    assert "_run_subprocess" not in out and out.count("def ") == 2
    assert out.count("await asyncio.to_thread(subprocess.") == 2
    assert not diagnostics


def test_an_earlier_helper_and_its_callers_are_left_alone():
    earlier = (GOLDEN / "subprocess_to_asyncio" / "earlier_helper_left_alone.before.py").read_text()
    out, diagnostics = rewrite(earlier, **SELECT)
    assert not diagnostics
    helper = earlier[earlier.index("async def _run_subprocess") : earlier.index("async def built")]
    assert helper in out and 'await _run_subprocess(["make"], cwd=path, check=True)' in out
    assert 'await asyncio.to_thread(subprocess.check_output, ["date"])' in out


def test_a_rebound_asyncio_is_reported():
    diagnostics = check_noop(
        "import subprocess\nasync def f(asyncio):\n    subprocess.run(['ls'])\n", **SELECT
    )
    assert [(d.line, d.code) for d in diagnostics] == [(3, "ASYNC221")]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import subprocess\ndef f():\n    subprocess.run(['ls'])\n", id="sync-def"),
        pytest.param(
            "import subprocess\nasync def f():\n    g = lambda: subprocess.run(['ls'])\n",
            id="lambda",
        ),
        pytest.param("async def f(subprocess):\n    subprocess.run(['ls'])\n", id="parameter"),
        pytest.param(
            "import subprocess\nasync def f():\n    subprocess.run(['ls'])  # asyncfix: ignore\n",
            id="opt-out",
        ),
        pytest.param(
            "import subprocess\nasync def f():\n    return subprocess.run\n", id="a-reference"
        ),
    ],
)
def test_noop(source: str):
    assert check_noop(source, **SELECT) == []


# -- runtime: the same results on real processes ---------------------------------------------

ORIGINAL = """
import os
import subprocess


async def echo_run():
    return subprocess.run(["echo", "hello"], capture_output=True)


async def echo_text():
    return subprocess.run(["echo", "hello"], capture_output=True, text=True)


async def exit3():
    return subprocess.run(["sh", "-c", "exit 3"])


async def exit3_checked():
    return subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True, check=True)


async def shell(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


async def crlf():
    return subprocess.run(["printf", "a\\\\r\\\\nb\\\\rc"], stdout=subprocess.PIPE, text=True).stdout


async def feed(data):
    return subprocess.run(["cat"], input=data, capture_output=True, text=True).stdout


async def in_dir(path, env):
    return subprocess.run(["sh", "-c", "pwd; echo $ASYNCFIX_TEST"], cwd=path, env=env, capture_output=True).stdout


async def merged():
    return subprocess.run(["sh", "-c", "echo a; echo b >&2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout


async def too_slow():
    return subprocess.run(["sleep", "5"], timeout=0.3)


async def call3():
    return subprocess.call("exit 3", shell=True)


async def check_call3():
    return subprocess.check_call(["sh", "-c", "exit 3"])


async def check_call0():
    return subprocess.check_call(["true"])


async def output():
    return subprocess.check_output(["echo", "hi"], text=True)


async def output_bytes_input():
    return subprocess.check_output(["cat"], input=b"raw")


async def output_fails():
    return subprocess.check_output(["sh", "-c", "echo partial; exit 2"])


async def system_statement(path):
    os.system(f"echo done > {path}")
    with open(path) as f:  # asyncfix: ignore
        return f.read()


async def system_status():
    return os.system("exit 3")


async def missing():
    return subprocess.run(["asyncfix-no-such-program"])


async def status_output():
    return subprocess.getstatusoutput("echo hi; exit 2")


async def spawn_wait():
    return os.spawnlp(os.P_WAIT, "sh", "sh", "-c", "exit 4")
"""

CASES = [
    ("echo_run", ()),
    ("echo_text", ()),
    ("exit3", ()),
    ("exit3_checked", ()),
    ("shell", ("echo $((1 + 2)); exit 4",)),
    ("crlf", ()),
    ("feed", ("line 1\nline 2\n",)),
    ("merged", ()),
    ("too_slow", ()),
    ("call3", ()),
    ("check_call3", ()),
    ("check_call0", ()),
    ("output", ()),
    ("output_bytes_input", ()),
    ("output_fails", ()),
    ("system_status", ()),
    ("missing", ()),
    ("status_output", ()),
    ("spawn_wait", ()),
]


def _outcome(coroutine):
    """What a call returned or raised, as comparable data."""
    try:
        value = asyncio.run(coroutine)
    except subprocess.CalledProcessError as error:
        return ("CalledProcessError", error.returncode, error.cmd, error.output, error.stderr)
    except subprocess.TimeoutExpired as error:
        # .timeout differs slightly: subprocess stores the time left when it gave up
        return ("TimeoutExpired", error.cmd, round(error.timeout, 1))
    except OSError as error:
        return (type(error).__name__, error.errno)
    if isinstance(value, subprocess.CompletedProcess):
        return ("CompletedProcess", value.args, value.returncode, value.stdout, value.stderr)
    return value


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subprocess_app")
    original = folder / "original.py"
    original.write_text(ORIGINAL)
    settings = Settings(codemods=("subprocess_to_asyncio",))
    outcome = transform_source(original.read_bytes(), str(original), settings, ProjectIndex())
    rewritten = folder / "rewritten.py"
    rewritten.write_bytes(outcome.new)
    text = outcome.new.decode()
    assert "return subprocess." not in text and "os.system(" not in text
    assert "return os.spawnlp(" not in text and "_run_subprocess" not in text
    # one offload per function: the cases, in_dir and system_statement
    assert text.count("await asyncio.to_thread(") == len(CASES) + 2
    assert 'await asyncio.to_thread(os.system, "exit 3")' in text
    assert outcome.diagnostics == []
    return load_module(original, "sub_original"), load_module(rewritten, "sub_rewritten")


@pytest.mark.parametrize(("function", "args"), CASES, ids=[c[0] for c in CASES])
def test_rewritten_function_behaves_like_the_original(modules, function, args):
    original, rewritten = modules
    expected = _outcome(getattr(original, function)(*args))
    assert _outcome(getattr(rewritten, function)(*args)) == expected


def test_cwd_env_and_files(modules, tmp_path: Path):
    original, rewritten = modules
    env = {"ASYNCFIX_TEST": "from-env", "PATH": "/usr/bin:/bin"}
    expected = _outcome(original.in_dir(str(tmp_path), env))
    assert expected == f"{tmp_path}\nfrom-env\n".encode()
    assert _outcome(rewritten.in_dir(str(tmp_path), env)) == expected
    assert _outcome(original.system_statement(str(tmp_path / "a"))) == "done\n"
    assert _outcome(rewritten.system_statement(str(tmp_path / "b"))) == "done\n"


def test_sanity_of_the_expected_values(modules):
    """The comparison above is not vacuous: the originals do what the cases say."""
    original, _ = modules
    assert _outcome(original.exit3())[2] == 3
    assert _outcome(original.exit3_checked())[:2] == ("CalledProcessError", 3)
    assert _outcome(original.crlf()) == "a\nb\nc"
    assert _outcome(original.system_status()) == 3 << 8
    assert _outcome(original.too_slow())[0] == "TimeoutExpired"
    assert _outcome(original.check_call3())[:2] == ("CalledProcessError", 3)
    assert _outcome(original.status_output()) == (2, "hi")
    assert _outcome(original.spawn_wait()) == 4


def test_the_loop_keeps_running_while_a_child_runs(modules):
    _, rewritten = modules

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await rewritten.shell("sleep 0.4")
        task.cancel()
        return ticks

    assert asyncio.run(main()) >= 5
