"""Renderers: a run's results (:class:`RunResults`) as text and as a Markdown migration report;
and the ``--explain`` texts. The documents for machines (JSON, GitHub, SARIF): documents.py.

Nothing here runs a codemod or touches a file: the CLI collects the results of a run and hands
them to one of these functions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import click

from .codemods.diagnostic import Diagnostic
from .codemods.results import CHANGED, FAILED, UNCHANGED, FileResult, is_not_analysed

FORMATS = ("text", "json", "github", "sarif")
SKIPPED = "skipped"  # --interactive: a change the user declined


@dataclass
class RunResults:
    """Everything one run produced, in input order, for the renderers that need the whole run."""

    mode: str  # "dry-run", "check", "apply" (``--interactive`` is "apply")
    results: List[FileResult] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)  # displays of declined changes

    @property
    def diagnostics(self) -> List[Diagnostic]:
        return [d for result in self.results for d in result.diagnostics]

    def counts(self) -> Counter:
        counts: Counter = Counter(result.status for result in self.results)
        counts[CHANGED] -= len(self.skipped)
        counts[SKIPPED] = len(self.skipped)
        return counts

    def rewrites(self) -> Counter:
        total: Counter = Counter()
        for result in self.converted():
            total.update(result.rewrites)
        return total

    def converted(self) -> List[FileResult]:
        skipped = set(self.skipped)
        return [r for r in self.results if r.status == CHANGED and r.display not in skipped]

    def requirements(self) -> Dict[str, Dict[str, List[str]]]:
        """package -> codemod -> the files whose new code needs the package."""
        needs: Dict[str, Dict[str, List[str]]] = {}
        for result in self.converted():
            for package, codemods in result.requirements.items():
                for codemod in codemods:
                    needs.setdefault(package, {}).setdefault(codemod, []).append(result.display)
        return {package: dict(sorted(by.items())) for package, by in sorted(needs.items())}


def _version() -> str:
    from . import __version__  # looked up on use: importlib.metadata is slow to import

    return __version__


# -- explanations ----------------------------------------------------------------------------


def known_codes() -> Dict[str, List[Tuple[str, str]]]:
    """Every diagnostic code the registered codemods declare -> [(codemod, explanation)]."""
    from .codemods import REGISTRY  # every codemod: only here, not on every run

    codes: Dict[str, List[Tuple[str, str]]] = {}
    for codemod in REGISTRY:
        for code, text in codemod.CODES.items():
            codes.setdefault(code, []).append((codemod.NAME, text))
    from .pytest_probe import CODES as PROBE_CODES  # the loop probe's (pytest --asyncfix-probe)

    for code, text in PROBE_CODES.items():
        codes.setdefault(code, []).append(("pytest --asyncfix-probe", text))
    return dict(sorted(codes.items()))


def explain(code: str) -> Optional[str]:
    """The ``--explain`` text for ``code`` (any case), or None for an unknown code."""
    entries = {key.upper(): value for key, value in known_codes().items()}.get(code.upper())
    if entries is None:
        return None
    parts = []
    for codemod, text in entries:
        parts.append(f"{code.upper()} (reported by {codemod})\n\n{text.strip()}\n")
    return "\n".join(parts)


def _summary_of(text: str) -> str:
    """The first sentence (or line) of an explanation, for one-line listings."""
    first = text.strip().split("\n\n")[0].replace("\n", " ")
    match = re.match(r"(.+?[.:])(\s|$)", first)
    return (match.group(1) if match else first).rstrip(":")


# -- text ------------------------------------------------------------------------------------


def colour_diff(diff: str) -> str:
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        else:
            out.append(line)
    return "".join(out)


def render_text(result: FileResult, mode: str, color: bool, quiet: bool, verbose: bool) -> None:
    """One file's result, as soon as it is known (``--output-format text``)."""
    if result.status == FAILED:
        click.echo(f"error: {result.display}: {result.error}", err=True)
    elif result.status == CHANGED:
        if mode == "dry-run":
            click.echo(colour_diff(result.diff) if color else result.diff, nl=False, color=color)
        elif mode == "check":
            click.echo(f"would rewrite {result.display}")
        elif not quiet:
            click.echo(f"rewrote {result.display}")
    elif verbose:
        click.echo(f"unchanged {result.display}", err=True)
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format())
    for note in result.notes:
        if verbose or (not quiet and is_not_analysed(note)):
            click.echo(f"note: {result.display}: {note}", err=True)


def summary_line(mode: str, run: RunResults) -> str:
    counts = run.counts()
    scanned = len(run.results)
    verb = "rewritten" if mode == "apply" else "would change"
    parts = [
        f"{scanned} file{'s' if scanned != 1 else ''} scanned",
        f"{counts[CHANGED]} {verb}",
    ]
    if counts[SKIPPED]:
        parts.append(f"{counts[SKIPPED]} skipped")
    parts += [f"{counts[UNCHANGED]} unchanged", f"{counts[FAILED]} failed"]
    line = "asyncfix: " + ", ".join(parts)
    rewrites = run.rewrites()
    if rewrites:
        line += "; rewrites: " + ", ".join(f"{name} {n}" for name, n in sorted(rewrites.items()))
    diagnostics = len(run.diagnostics)
    line += f"; {diagnostics} diagnostic{'s' if diagnostics != 1 else ''}"
    newer = sum(any(is_not_analysed(note) for note in result.notes) for result in run.results)
    if newer:
        line += f"; {newer} file{'s' if newer != 1 else ''} not analysed (needs a newer Python)"
    return line


def follow_up_lines(run: RunResults) -> List[str]:
    """After ``--apply``: what still needs a human and what the new code needs installed."""
    lines = []
    by_code = Counter(d.code for d in run.diagnostics)
    if by_code:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(by_code.items()))
        lines.append(
            f"asyncfix: needs a human: {sum(by_code.values())} "
            f"diagnostic{'s' if sum(by_code.values()) != 1 else ''} ({codes});"
            " `asyncfix --explain CODE` says how to fix each by hand"
        )
    needs = run.requirements()
    if needs:
        lines.append(
            "asyncfix: the rewritten code needs these packages installed: " + ", ".join(needs)
        )
    return lines


# -- the migration report (Markdown) -----------------------------------------------------------


def _md(text: str) -> str:
    """Inline code for a path or name (backticks inside are doubled up as Markdown allows)."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(run: RunResults, command: str = "") -> str:
    counts = run.counts()
    applied = run.mode == "apply"
    out = ["# asyncfix migration report", ""]
    head = f"asyncfix {_version()}"
    if command:
        head += f", `{command}`"
    out.append(
        f"{head}: {len(run.results)} files scanned, {counts[CHANGED]} "
        f"{'rewritten' if applied else 'would be rewritten'}, {counts[UNCHANGED]} unchanged, "
        f"{counts[FAILED]} failed"
        + (f", {counts[SKIPPED]} skipped" if counts[SKIPPED] else "")
        + "."
    )
    out.append("")

    out += ["## Converted" if applied else "## Would be converted", ""]
    converted = run.converted()
    if converted:
        files_per: Counter = Counter()
        for result in converted:
            files_per.update(result.rewrites.keys())
        out += ["| codemod | rewrites | files |", "|---|---:|---:|"]
        for name, count in sorted(run.rewrites().items()):
            out.append(f"| {_md(name)} | {count} | {files_per[name]} |")
        out += ["", "Files:", ""]
        for result in converted:
            done = ", ".join(f"{name} {n}" for name, n in sorted(result.rewrites.items()))
            out.append(f"- {_md(result.display)}: {done}")
    else:
        out.append("Nothing.")
    if run.skipped:
        out += ["", "Skipped (declined in `--interactive`):", ""]
        out += [f"- {_md(display)}" for display in run.skipped]
    out.append("")

    out += ["## Needs a human", ""]
    diagnostics = run.diagnostics
    if diagnostics:
        by_code: Dict[str, List[Diagnostic]] = {}
        for d in diagnostics:
            by_code.setdefault(d.code, []).append(d)
        codes = known_codes()
        out.append(
            f"{len(diagnostics)} place{'s' if len(diagnostics) != 1 else ''} asyncfix saw but did "
            "not rewrite, because a mechanical rewrite would not be safe there. "
            "`asyncfix --explain CODE` says how to fix each kind by hand."
        )
        for code, items in sorted(by_code.items()):
            out += ["", f"### {code} ({len(items)})", ""]
            if code in codes:
                out += [_summary_of(codes[code][0][1]), ""]
            for d in items:
                hint = f" (hint: {d.hint})" if d.hint else ""
                out.append(f"- {_md(f'{d.path}:{d.line}:{d.column}')}: {d.message}{hint}")
    else:
        out.append("Nothing: no diagnostics.")
    out.append("")

    failed = [r for r in run.results if r.status == FAILED]
    if failed:
        out += ["## Failed", "", "These files were left untouched:", ""]
        out += [f"- {_md(r.display)}: {r.error}" for r in failed]
        out.append("")

    out += ["## Runtime dependencies", ""]
    needs = run.requirements()
    if needs:
        out += [
            "The rewritten code imports these packages; add them to your project's dependencies:",
            "",
            "| package | needed by |",
            "|---|---|",
        ]
        for package, by in needs.items():
            users = "; ".join(
                f"{_md(name)} ({', '.join(_md(f) for f in files)})" for name, files in by.items()
            )
            out.append(f"| {_md(package)} | {_cell(users)} |")
        out += ["", "```sh", "pip install " + " ".join(needs), "```"]
    else:
        out.append("None: the rewritten code needs no package that was not needed before.")
    out.append("")
    return "\n".join(out)
