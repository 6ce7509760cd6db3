"""What the loop probe saw block that the static analysis did not know about (issue 18, item 4).

``--verify`` runs the project's tests with the loop probe (``pytest_probe.py``). A stall the probe
attributes to a project line is *known statically* when what that line called is an API of the
knowledge base (``codemods/blocking_tables.py``) or of ``[tool.asyncfix] blocking``: asyncfix
rewrote it, or reported why not. Every other one becomes a ``PROBE002`` diagnostic with its chain,
the project frames from the outermost (the test, the route) to the innermost, then the library
callable the innermost project frame called (``vendor.client.fetch``).

That callable's qualified name is a *runtime fact*: ``--verify`` feeds it to a second round as
``[tool.asyncfix] blocking`` (``options["blocking"]``), so the blocking plan offloads or demotes
what calls it, exactly as if the user had declared it; the second round is verified like the
first and kept only if the suite stays green. A stall with no library call to name (Python code
of the project itself, or a call the probe could not follow) is reported and not fed back.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import click

from .codemods import resolve, rounds
from .codemods.config import ConfigError
from .codemods.diagnostic import Diagnostic
from .codemods.results import CHANGED, FileResult, Settings
from .output import RunResults, summary_line

if TYPE_CHECKING:
    from .verify import Verifier

CODE = "PROBE002"
FED_HINT = (
    "a second round treats `{name}` as blocking ([tool.asyncfix] blocking); add it to "
    "pyproject.toml to keep it, or run it with `await asyncio.to_thread(...)`"
)
NOT_FED_HINT = (
    "no library call to name: mark the function `# asyncfix: blocking`, run the work with "
    "`await asyncio.to_thread(...)` or a process pool, or make the route a plain `def`"
)
NAMED_NOT_FED = (
    "`{name}` is not fed back (the loop's machinery, or the standard library, whose blocking "
    "I/O asyncfix's tables know: likely CPU work)"
)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or resolve._STDLIB
# The codemods that act on a blocking fact (codemods/blocking.py's plan): round 2 needs one.
FEEDS_ON_FACTS = frozenset({"demote_to_def", "offload_to_thread"})
# Names a runtime fact never carries: the loop's own machinery, and what asyncfix cannot offload.
_NEVER = ("asyncio.", "anyio.", "trio.", "builtins.", "threading.", "concurrent.futures.")


@dataclass(frozen=True)
class RuntimeBlocking:
    """One place the probe saw blocking that the static analysis did not know about."""

    path: str  # as the probe wrote it, relative to pytest's rootdir
    line: int
    column: int
    function: str
    callee: str  # what the line called, qualified; "" when the probe could not name it
    innermost: str  # the innermost frame (a library function), or the call into C code
    chain: Tuple[Tuple[str, int, str], ...]  # (path, line, function), outermost first
    count: int
    worst_ms: float
    facts: Tuple[str, ...]  # the qualified names fed back as blocking (none: report only)
    rootdir: str = ""  # pytest's rootdir, which the paths are relative to

    def diagnostic(self) -> Diagnostic:
        links = [f"{function} ({path}:{line})" for path, line, function in self.chain]
        if not links:
            links = [f"{self.function} ({self.path}:{self.line})"]
        if self.callee:
            links.append(f"{self.callee} [seen at run time]")
        if self.innermost and self.innermost not in (self.callee, self.callee.rpartition(".")[2]):
            links.append(self.innermost)
        times = "once" if self.count == 1 else f"{self.count} times"
        message = (
            f"blocking seen at runtime, not known statically: the event loop was blocked {times}, "
            f"worst {self.worst_ms:.0f} ms: {' -> '.join(links)}"
        )
        if self.facts:
            hint = FED_HINT.format(name="`, `".join(self.facts))
        elif self.callee:
            hint = NOT_FED_HINT.replace(
                "no library call to name", NAMED_NOT_FED.format(name=self.callee)
            )
        else:
            hint = NOT_FED_HINT
        where = _display(self.path, self.rootdir)
        return Diagnostic(where, self.line, self.column, CODE, message, hint, "verify")


def unknown_blocking(
    probe: Optional[Mapping[str, Any]], options: Mapping[str, Any], rootdir: str = ""
) -> List[RuntimeBlocking]:
    """The stalls of one probe run (its JSON) at project lines whose call the static analysis
    does not know to block, in the probe's order (path, line).

    What the line called has up to three names: the library function whose frame ran next
    (``vendorlib._impl.fetch``), the call's text followed through the module's globals at run
    time (both from the probe: ``callee``), and the name asyncfix's own resolver gives the call on
    that line (``vendorlib.fetch`` for ``from vendorlib import fetch``), which is the one the
    blocking plan matches. The stall is known when any name is; otherwise each name is a fact."""
    if not isinstance(probe, Mapping):
        return []
    from .codemods import blocking_tables  # the tables: only when the probe found something

    try:
        user = blocking_tables.user_blocking(options)
    except ConfigError:
        user = frozenset()
    found = []
    for stall in probe.get("stalls") or ():
        if not isinstance(stall, Mapping) or not stall.get("project"):
            continue  # a library's own stall
        if not stall.get("sampled", True):
            continue  # never sampled: where it blocked is unknown (PROBE001 says so)
        callee = str(stall.get("callee") or "")
        names = [callee] if callee else []
        if rootdir and stall.get("call"):
            path, line = str(stall.get("path") or ""), int(stall.get("line") or 0)
            static = static_name(rootdir, path, line, str(stall["call"]))
            if static and static not in names:
                names.append(static)
        if any(_known(name, user) for name in names):
            continue
        chain = tuple(
            (str(link[0]), int(link[1]), str(link[2]))
            for link in stall.get("chain") or ()
            if isinstance(link, Sequence) and len(link) == 3
        )
        facts = tuple(name for name in names if _feedable(name))
        found.append(
            RuntimeBlocking(
                path=str(stall.get("path") or ""),
                line=int(stall.get("line") or 0),
                column=int(stall.get("column") or 0),
                function=str(stall.get("function") or ""),
                callee=callee,
                innermost=str(stall.get("innermost") or ""),
                chain=chain,
                count=int(stall.get("count") or 0),
                worst_ms=float(stall.get("worst_ms") or 0.0),
                facts=facts,
                rootdir=rootdir,
            )
        )
    return found


def _feedable(name: str) -> bool:
    """A name worth a second round: a library's, not the loop's machinery, and not the standard
    library's, whose blocking I/O the tables cover: the rest of it is CPU work, which a thread
    does not take off the loop (cpu_to_executor's business)."""
    top = name.partition(".")[0]
    return "." in name and not name.startswith(_NEVER) and top not in _STDLIB


def _known(callee: str, user: FrozenSet[str]) -> bool:
    from .codemods import blocking_tables

    return (
        blocking_tables.lookup(callee) is not None
        or blocking_tables.match_user(callee, user) is not None
    )


def static_name(rootdir: str, path: str, line: int, call: str) -> Optional[str]:
    """The qualified name asyncfix's resolver gives the call ``call`` (its dotted text) on
    ``line`` of ``path`` (relative to ``rootdir``); None when it names a project function, is
    not a plain call, or the file cannot be read."""
    from .codemods.callgraph import collect_module
    from .codemods.names import Resolver
    from .codemods.syntax import parse

    filename = os.path.abspath(os.path.join(rootdir, path))
    try:
        with open(filename, "rb") as handle:
            source = handle.read()
        facts = collect_module(parse(source), filename, source)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    resolver = Resolver({filename: facts}, rootdir)
    for site in facts.calls:
        if site.target == call and site.line <= line <= max(site.line, site.end_line):
            return resolver.qualify(filename, site.owner, site.target, site.instance_of)
    return None


def with_facts(options: Mapping[str, Any], facts: Sequence[str]) -> dict:
    """``options`` with ``facts`` added to ``blocking`` (kept sorted, no duplicates)."""
    from .codemods import blocking_tables

    try:
        known = set(blocking_tables.user_blocking(options))
    except ConfigError:
        known = set()
    return {**options, "blocking": sorted(known | set(facts))}


def _display(path: str, rootdir: str) -> str:
    """The probe's path (relative to pytest's rootdir) as asyncfix shows paths: relative to the
    current directory when under it."""
    absolute = path if os.path.isabs(path) else os.path.join(rootdir, path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative


# (settings, results out, skipped out): one rewrite pass of the CLI, rendered and written
RewritePass = Callable[[Settings, List[FileResult], List[str]], None]


def runtime_round(
    verifier: "Verifier",
    settings: Settings,
    rewrite: RewritePass,
    run_results: RunResults,
    quiet: bool = False,
    text: bool = True,
) -> None:
    """After a verified first round: report what the probe saw that the static analysis did not
    know (PROBE002), and run a second round with the names it gave as ``blocking`` facts,
    verified like the first; its results join ``run_results`` only if it is kept. ``text``:
    print the diagnostics (not in the machine formats, whose document holds them)."""
    found = verifier.unknown_blocking(settings.options)
    by_file = {os.path.abspath(result.path): result for result in run_results.results}
    for item in found:
        diagnostic = item.diagnostic()
        if text:
            click.echo(diagnostic.format())
        result = by_file.get(os.path.abspath(os.path.join(item.rootdir, item.path)))
        if result is not None:  # in --output-format documents and --report too
            result.diagnostics.append(diagnostic)
    facts = sorted({fact for item in found for fact in item.facts})
    if not facts:
        return
    if not FEEDS_ON_FACTS.intersection(settings.codemods):
        names = " and ".join(sorted(FEEDS_ON_FACTS))
        click.echo(f"verify: no round 2: {names} are not selected", err=True)
        return
    click.echo(
        f"verify: round 2: treating {', '.join(facts)} as blocking (seen at run time)", err=True
    )
    verifier.next_round()
    results: List[FileResult] = []
    skipped: List[str] = []
    rewrite(replace(settings, options=with_facts(settings.options, facts)), results, skipped)
    if not quiet:
        line = summary_line(run_results.mode, RunResults(run_results.mode, results, skipped))
        click.echo(line.replace("asyncfix: ", "asyncfix: round 2: ", 1), err=True)
    if verifier.finish():  # rolled back to the tree round 1 left, which stays (verified)
        click.echo("verify: round 2 rolled back; the first round's rewrite stays", err=True)
        return
    merge_round(run_results, results, skipped)


def merge_round(run_results: RunResults, later: List[FileResult], skipped: List[str]) -> None:
    """Round 2's results over round 1's: a file round 2 changed (and, under ``-i``, that was
    accepted) gets its later text and the rewrites of both rounds; every other file keeps its
    round 1 result with the diagnostics of its text as written."""
    by_path = {result.path: index for index, result in enumerate(run_results.results)}
    declined = set(run_results.skipped)
    for result in later:
        index = by_path.get(result.path)
        taken = result.status == CHANGED and result.display not in skipped
        if index is None:
            run_results.results.append(result)
            if result.status == CHANGED and not taken:
                run_results.skipped.append(result.display)
            continue
        earlier = run_results.results[index]
        probed = [d for d in earlier.diagnostics if d.code == CODE]  # this round's PROBE002s
        if not taken:
            earlier.diagnostics = [*result.diagnostics, *probed]
            continue
        # on the lines they moved to when round 2 rewrote the file
        probed = rounds.carry(probed, [], result.old_text or "", result.new_text or "")
        result.diagnostics = sorted(
            [*result.diagnostics, *probed], key=lambda d: (d.line, d.column)
        )
        if earlier.status == CHANGED and earlier.display not in declined:
            for name, count in earlier.rewrites.items():
                result.rewrites[name] = result.rewrites.get(name, 0) + count
        elif earlier.display in declined:  # declined in round 1, accepted in round 2
            run_results.skipped.remove(earlier.display)
        run_results.results[index] = result
