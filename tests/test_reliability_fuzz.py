"""Fuzzing the whole pipeline (issue 9): every codemod, black on, through
``transform_standalone`` as the CLI's stdin mode runs it.

Three sources of programs:
- hypothesmith's grammar-based programs (``from_grammar``): any token soup the grammar allows;
- hypothesmith's CST-based programs (``from_node``): libcst-shaped modules;
  both optionally followed by a tail that makes every codemod parse and walk the file (most
  random programs contain none of the tokens a codemod needs, so they would skip libcst);
- mutations of the golden inputs (``before_after/**/*.before.py``): wrapped in ``async def``
  or a sync def, nested in a class, calls moved into comprehensions and lambdas, odd import
  spellings, backslash continuations, tabs, CRLF, no final newline, form feeds.

For each: no exception escapes except SourceError for bad input (an InternalError is a
finding), the output compiles wherever the input did, and a fresh run on the output changes
nothing (tests/reliability_support.py: check_pipeline).

The default run is bounded for CI (deterministic: derandomized, no example database);
``pytest tests/test_reliability_fuzz.py --fuzz-examples 500`` runs longer (and adds every
golden input under every mutation alone, about 700 programs). The number of
programs tried (and how many were rewritten / rejected as bad input) is printed in the
terminal summary ("reliability counts").
"""

from __future__ import annotations

from pathlib import Path

import hypothesmith
import pytest
from conftest import GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import COUNTS, MUTATIONS, check_pipeline, mutate

# Generated programs such as `1()` make compile() warn; the warnings say nothing about asyncfix.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# Per test, in the default run: about 60 s in all on two slow cores (each example is a whole
# pipeline run with black, up to two or three times).
DEFAULT_EXAMPLES = {"grammar": 10, "cst": 6, "golden": 20}

BEFORES = sorted(GOLDEN.glob("*/*.before.py"))

# Appended to a random program so that every codemod's cheap byte check wants the file and
# libcst parses and walks the random part too: a comment holding every codemod's tokens (the
# codemods walk the random code, find nothing to do), or real code for each codemod (the tail
# compiles on its own; a random program before it is any sequence of statements).
TRIGGER_COMMENT = (
    "\n# async def sleep requests httpx subprocess open Path input wait yield Session sqlalchemy\n"
)
TRIGGER_TAIL = """

import time, subprocess, requests, sqlalchemy
from sqlalchemy.orm import Session


async def _fuzz_tail(path, db: Session):
    time.sleep(0)
    requests.get("http://localhost")
    subprocess.run(["true"])
    with open(path) as handle:
        handle.read()
    input()
    db.query(path).all()
    yield db
"""
TAILS = ("", TRIGGER_COMMENT, TRIGGER_TAIL)


def _examples(request: pytest.FixtureRequest, kind: str) -> int:
    given_count = request.config.getoption("--fuzz-examples")
    return given_count if given_count is not None else DEFAULT_EXAMPLES[kind]


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _record(test: str, result: str) -> None:
    COUNTS[f"{test}: programs tried"] += 1
    COUNTS[f"{test}: {result}"] += 1


def test_fuzz_grammar_programs(request: pytest.FixtureRequest):
    @_settings(_examples(request, "grammar"))
    @given(program=hypothesmith.from_grammar(), tail=st.sampled_from(TAILS))
    def run(program: str, tail: str) -> None:
        source = program + tail
        _record("fuzz from_grammar", check_pipeline(source.encode("utf-8", "surrogatepass")))

    run()
    assert COUNTS["fuzz from_grammar: programs tried"] > 0


def test_fuzz_cst_programs(request: pytest.FixtureRequest):
    @_settings(_examples(request, "cst"))
    @given(program=hypothesmith.from_node(), tail=st.sampled_from(TAILS))
    def run(program: str, tail: str) -> None:
        source = program + tail
        _record("fuzz from_node", check_pipeline(source.encode("utf-8", "surrogatepass")))

    run()
    assert COUNTS["fuzz from_node: programs tried"] > 0


def test_fuzz_golden_mutations(request: pytest.FixtureRequest):
    @_settings(_examples(request, "golden"))
    @given(
        before=st.sampled_from(BEFORES),
        names=st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=4),
    )
    def run(before: Path, names) -> None:
        source, applied = mutate(before.read_text(encoding="utf-8"), names)
        result = check_pipeline(source.encode("utf-8"))
        _record("fuzz golden mutations", result)
        for name in applied:
            COUNTS[f"fuzz golden mutations: applied {name}"] += 1

    run()
    assert COUNTS["fuzz golden mutations: programs tried"] > 0


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_changes_some_golden_input_and_keeps_it_compiling(name: str):
    """The mutations are not no-ops: each applies to at least one golden input, and
    ``mutate`` keeps only compiling results (so the fuzz test exercises what it claims)."""
    changed = 0
    for before in BEFORES:
        source, applied = mutate(before.read_text(encoding="utf-8"), [name])
        if applied:
            changed += 1
            compile(source, str(before), "exec")
    assert changed, f"{name} changed no golden input"


def test_every_golden_input_survives_each_mutation_alone(request: pytest.FixtureRequest):
    """Deterministic companion of the fuzz test: every golden input under every mutation on
    its own, without black; a finding here is reproducible by name. About 700 programs (half
    an hour on two slow cores), so it runs only in the long mode (``--fuzz-examples N``)."""
    if request.config.getoption("--fuzz-examples") is None:
        pytest.skip("long run only: pass --fuzz-examples N")
    from dataclasses import replace

    from reliability_support import ALL

    no_black = replace(ALL, black_mode=None)
    tried = 0
    for before in BEFORES:
        text = before.read_text(encoding="utf-8")
        for name in sorted(MUTATIONS):
            source, applied = mutate(text, [name])
            if not applied:
                continue
            try:
                check_pipeline(source.encode("utf-8"), no_black, path=before.name)
            except AssertionError as error:
                raise AssertionError(f"{before.parent.name}/{before.name} + {name}: {error}")
            tried += 1
    COUNTS["golden x each mutation (no black): programs tried"] += tried
    assert tried > len(BEFORES)


# -- findings of the fuzzing, pinned -------------------------------------------------------------


def test_finding_session_used_in_a_comprehension_is_awaited_there():
    """Fuzz finding (golden session_block + calls moved into a list comprehension): the session
    became an AsyncClient but its call inside the comprehension stayed un-awaited (the request
    silently never sent); a second run then added the await. libcst's ``scope.accesses`` holds
    only the scope's own accesses; requests_to_httpx now also follows the assignment's
    references into comprehensions and lambdas."""
    from conftest import check_transformed

    check_transformed(
        "import requests\n\n\nasync def f(ids):\n    with requests.Session() as s:\n"
        '        [s.post("http://h/a", json=i) for i in ids]\n',
        "import httpx\n\n"
        "# One SSL context for this module's httpx clients: each costs tens of ms of CPU.\n"
        "_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()\n\n\n"
        "async def f(ids):\n    async with httpx.AsyncClient(\n"
        "        verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None\n    ) as s:\n"
        '        [await s.post("http://h/a", json=i) for i in ids]\n',
    )


def test_finding_session_used_in_a_lambda_is_reported_not_converted():
    from conftest import check_noop

    diagnostics = check_noop(
        "import requests\n\n\nasync def f():\n    with requests.Session() as s:\n"
        '        s.get("http://h/")\n        later = lambda: s.get("http://h/b")\n        return later\n'
    )
    # ASYNC210 says why the block stays; the call it leaves blocking is BLOCK002 (what is left).
    assert sorted(d.code for d in diagnostics) == ["ASYNC210", "BLOCK002"]
    refused = next(d for d in diagnostics if d.code == "ASYNC210")
    assert "outside the coroutine's own body" in refused.message
