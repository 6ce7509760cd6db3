"""The site's side of cpu_to_executor's decision, stated once (cpu_sites.site_verdicts): the
rewrite sends a call to the process pool exactly where the verdict says so, to the thread pool
(CPU002) where it says why not, and leaves the calls it has no verdict on; the host analysis
(cpu_hosts.pool_users) reads the same function, so a host never defines a pool no module calls.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Dict, List

from asyncfix.cli import main
from click.testing import CliRunner

from codemods.callgraph import collect_module
from codemods.cpu_sites import (
    NAME_TAKEN,
    NOT_PLAIN,
    POOL_SHAPE,
    TAKES_POOL,
    plain_annotation,
    process_sites,
    site_verdicts,
)

PROBE = """\
import asyncio
from multiprocessing import Pool
from typing import Annotated, List, Optional


def crunch(*args, **kwargs) -> int:
    total = 0
    for i in range(1_000_000):
        total += i % 7
    return total


async def plain_param(n: int):
    return crunch(n)


async def untyped_param(n):
    return crunch(n)


async def rebound_param(n: int):
    n = n + 1
    return crunch(n)


async def literals_and_arithmetic(n: int, s: str):
    return crunch(n * 2 + 1, -n, "x", b"y", f"{s}", (n, 2), [n], {"k": n}, s.encode(), ...)


async def literals_only(s: str):
    return crunch(n * 2 + 1, -n, "x", b"y", f"{s}", (n, 2), [n], {"k": n}, s.encode(), 3.5)


async def builtin_results(s: str):
    return crunch(len(s), int(s), abs(-2))


async def annotations(n: Annotated[int, "q"], m: Optional[List[int]] = None, o: int | None = None):
    return crunch(n, m, o)


async def keywords(n: int):
    return crunch(n, scale=n)


async def comprehensions(n: int):
    return [crunch(i) for i in range(n)] + [crunch(3) for _ in range(2)] + [crunch(n) for _ in "ab"]


async def comprehension_first_iterable(n: int):
    return [i for i in range(crunch(n))]


async def generator_expression(n: int):
    return sum(crunch(3) for _ in range(n))


async def nested_sync_def(n: int):
    def inner():
        return crunch(n)

    return inner()


async def starred(n: int, xs: List[int], d: dict):
    return crunch(*xs) + crunch({**d}) + crunch(*[n, 2])


async def opted_out(n: int):
    return crunch(n)  # asyncfix: ignore[cpu_to_executor]


async def already_awaited(n: int):
    return await crunch(n)


async def pool_with(n: int):
    with Pool() as pool:
        first = pool.apply(crunch, (n,))
        rest = pool.map(crunch, [1, 2])
    return first, rest


async def pool_with_other_use(n: int):
    with Pool(4) as pool:
        first = pool.apply(crunch, (n,))
        print(pool)
    return first


async def pool_direct(n: int):
    return Pool().apply(crunch, (n,), {"scale": 2})


async def pool_direct_starred(n: int):
    return Pool().apply(*[crunch, (n,)])
"""


def _offloads(source: str) -> Dict[str, Counter]:
    """async def name -> how many calls its body sends to the process pool and the thread pool."""
    counts: Dict[str, Counter] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncFunctionDef):
            found = counts.setdefault(node.name, Counter())
            for call in ast.walk(node):
                if not isinstance(call, ast.Call):
                    continue
                text = ast.unparse(call.func)
                first = ast.unparse(call.args[0]) if call.args else ""
                if "_cpu_bound_executor()" in (first, text.rpartition(".")[0]):
                    found["process"] += 1  # run_in_executor(_cpu_bound_executor(), ...) / .map
                elif text == "asyncio.to_thread" and first != "list":
                    found["thread"] += 1
    return counts


def _verdicts(source: str) -> Dict[str, List[str]]:
    """async def name -> the verdicts on its calls of crunch/Pool, in source order."""
    data = source.encode()
    tree = ast.parse(source)
    module = collect_module(tree, "probe.py", data)
    verdicts = site_verdicts(tree, data, module)
    assert process_sites(tree, data, module) == {
        span for span, why in verdicts.items() if why in (TAKES_POOL, POOL_SHAPE)
    }
    found: Dict[str, List[str]] = {}
    for call in sorted(module.calls, key=lambda call: call.span):
        if call.target in ("crunch", "Pool") and call.span in verdicts:
            found.setdefault(call.owner, []).append(verdicts[call.span])
    return found


def _rewrite(tmp_path: Path, source: str, *options: str) -> tuple:
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--apply", "--no-cache", *options, str(path)], catch_exceptions=False
    )
    assert result.exit_code in (0, 1), result.output
    return path.read_text(encoding="utf-8"), result.output


def test_the_rewrite_follows_the_verdict_on_each_call_site(tmp_path: Path):
    verdicts = _verdicts(PROBE)
    text, output = _rewrite(tmp_path, PROBE, "--select", "cpu_to_executor")
    offloads = _offloads(text)
    take, no, shape = TAKES_POOL, NOT_PLAIN, POOL_SHAPE
    # function -> (its verdicts, calls sent to the process pool, calls sent to the thread pool)
    expected = {
        "plain_param": ([take], 1, 0),
        "untyped_param": ([no], 0, 1),
        "rebound_param": ([no], 0, 1),
        "literals_and_arithmetic": ([no], 0, 1),  # `...` is not plain data
        "literals_only": ([no], 0, 1),  # `n` is no parameter here
        "builtin_results": ([take], 1, 0),
        "annotations": ([take], 1, 0),
        "keywords": ([take], 1, 0),
        # crunch(3): constants only; a comprehension's own names are not the coroutine's
        "comprehensions": ([no, take, no], 1, 2),
        "comprehension_first_iterable": ([take], 1, 0),  # evaluated by the coroutine
        "starred": ([take, no, take], 2, 1),  # *xs of a plain list[int], *[n, 2]; not {**d}
        "generator_expression": ([], 0, 0),  # CPU001: no verdict, no rewrite
        "nested_sync_def": ([], 0, 0),
        "opted_out": ([], 0, 0),
        "already_awaited": ([], 0, 0),
        "pool_with": ([shape], 2, 0),  # the verdict is on Pool(); apply and map both go
        "pool_with_other_use": ([], 0, 0),
        "pool_direct": ([shape], 1, 0),
        "pool_direct_starred": ([], 0, 0),
    }
    for name, (said, process, thread) in expected.items():
        assert verdicts.get(name, []) == said, name
        assert offloads[name]["process"] == process, (name, offloads[name])
        assert offloads[name]["thread"] == thread, (name, offloads[name])
    assert output.count(": CPU002 ") == 7, output  # each thread offload says why
    assert "an argument is not known to be picklable" in output
    assert output.count(": CPU001 ") == 1, output  # the generator expression
    assert output.count(": CPU003 ") == 2, output  # the Pool uses it leaves
    namespace: dict = {}
    exec(compile(text, "probe.py", "exec"), namespace)  # the result is Python that runs


SHIFTED = """\
import time


def crunch(n: int) -> int:
    total = 0
    for i in range(1_000_000):
        total += i % 7
    return total


async def handler(n: int):
    time.sleep(0)
    label = "événement ☃"; value = crunch(n)
    return label, value
"""


def test_the_verdict_is_read_on_the_tree_the_rewrite_sees(tmp_path: Path):
    """sleep_to_asyncio runs first and adds ``import asyncio`` (every later line moves), and
    the call stands after non-ASCII text (ast counts bytes, libcst characters): the rewrite
    still finds its verdict and sends the call to the process pool."""
    text, output = _rewrite(tmp_path, SHIFTED, "--select", "sleep_to_asyncio,cpu_to_executor")
    assert "await asyncio.sleep(0)" in text
    assert _offloads(text)["handler"] == Counter(process=1), text
    assert "CPU00" not in output, output


TAKEN = """\
import functools as functools_module

functools = None


def crunch(n: int, scale: int = 1) -> int:
    total = 0
    for i in range(1_000_000):
        total += i % 7
    return total * scale


async def handler(n: int):
    return crunch(n, scale=2), crunch(n)
"""


def test_a_taken_name_sends_the_call_that_needs_it_to_the_thread_pool(tmp_path: Path):
    """``functools`` is bound to something else: the call with keyword arguments (which the
    process pool takes through functools.partial) goes to the thread pool; the other one
    would take the pool, but the module's own pool (``@functools.cache``) cannot be written
    here, so it stays, with CPU001."""
    assert _verdicts(TAKEN)["handler"] == [NAME_TAKEN, TAKES_POOL]
    text, output = _rewrite(tmp_path, TAKEN, "--select", "cpu_to_executor")
    assert _offloads(text)["handler"] == Counter(thread=1), text
    assert "await asyncio.to_thread(crunch, n, scale=2), crunch(n)" in text
    assert output.count(": CPU002 ") == 1 and "`functools`" in output, output
    assert output.count(": CPU001 ") == 1, output


def test_plain_annotations_as_the_rewrite_reads_them():
    def annotation(text: str) -> ast.expr:
        return ast.parse(f"x: {text}").body[0].annotation  # type: ignore[attr-defined]

    for text in (
        "int",
        "typing.List[int]",
        "Optional[bytes]",
        "Annotated[int, Query()]",
        "str | None",
        "tuple[int, ...]",
        "dict[str, list[float]]",
    ):
        assert plain_annotation(annotation(text)), text
    for text in (
        "Request",
        "'int'",
        "list[Request]",
        "Callable[[int], int]",
        "Session | None",
    ):
        assert not plain_annotation(annotation(text)), text
