"""cpu_sites.py (the first pass, ``ast``) against the rewrite (libcst): for each coroutine of
a probe module, the calls the first pass says a process pool takes are exactly the calls the
rewrite sends to one (so cpu_hosts.py never names a module that will not call the pool).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from asyncfix.cli import main
from click.testing import CliRunner

from codemods.callgraph import collect_module
from codemods.cpu_sites import plain_annotation, process_sites

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


def _process_calls(source: str) -> Counter:
    """async def name -> how many calls its body sends to the process pool."""
    counts: Counter = Counter()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncFunctionDef):
            counts[node.name] += sum(  # run_in_executor(_cpu_bound_executor(), ...) and .map
                isinstance(call, ast.Call)
                and (
                    ast.unparse(getattr(call.func, "value", call.func)) == "_cpu_bound_executor()"
                    or bool(call.args)
                    and ast.unparse(call.args[0]) == "_cpu_bound_executor()"
                )
                for call in ast.walk(node)
            )
    return counts


def _predicted(source: str) -> Counter:
    data = source.encode()
    tree = ast.parse(source)
    module = collect_module(tree, "probe.py", data)
    sites = process_sites(tree, data, module)
    owners = {call.span: call.owner for call in module.calls if call.target in ("crunch", "Pool")}
    return Counter(owners[span] for span in sites if span in owners)


def test_the_first_pass_names_exactly_the_calls_the_rewrite_sends_to_a_process_pool(
    tmp_path: Path,
):
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    result = CliRunner().invoke(
        main, ["--apply", "--no-cache", "--select", "cpu_to_executor", str(path)]
    )
    assert result.exit_code == 0, result.output
    rewritten = _process_calls(path.read_text())
    predicted = _predicted(PROBE)
    # Every process call the first pass names, the rewrite makes (the property cpu_hosts
    # needs), and the cases below are the same on both sides, one by one.
    for name in sorted(set(rewritten) | set(predicted)):
        assert predicted[name] <= rewritten[name], name
    expected = {
        "plain_param": 1,
        "literals_only": 0,  # `n` is no parameter here: not plain data
        "literals_and_arithmetic": 0,  # `...` is not plain data (libcst: Ellipsis)
        "builtin_results": 1,
        "annotations": 1,
        "keywords": 1,
        "comprehensions": 1,  # crunch(3): constants only; a comprehension's names are its own
        "comprehension_first_iterable": 1,  # evaluated by the coroutine itself
        "starred": 2,  # *xs of a plain list[int] and *[n, 2]; not {**d} of a bare dict
    }
    for name, count in expected.items():
        assert predicted[name] == rewritten[name] == count, (name, predicted[name])
    # multiprocessing.Pool: the site is the Pool(...) call; apply and map both go to the pool
    assert (predicted["pool_with"], rewritten["pool_with"]) == (1, 2)
    assert (predicted["pool_direct"], rewritten["pool_direct"]) == (1, 1)
    for name in (
        "untyped_param",
        "rebound_param",
        "generator_expression",
        "nested_sync_def",
        "opted_out",
        "already_awaited",
        "pool_with_other_use",
        "pool_direct_starred",
    ):
        assert predicted[name] == 0, name
        assert rewritten[name] == 0, name


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
