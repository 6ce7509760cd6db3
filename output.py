"""Renderers: the engine's :class:`FileResult` values as text, JSON, GitHub Actions annotations,
SARIF 2.1.0 and a Markdown migration report; and the ``--explain`` texts.

Nothing here runs a codemod or touches a file: the CLI collects the results of a run and hands
them to one of these functions. The JSON document's shape is described by
``schemas/output.schema.json`` (its ``version`` changes only when a field changes meaning or
goes away; new fields may appear without a version change).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

import click

from .codemods.diagnostic import Diagnostic
from .codemods.results import CHANGED, FAILED, UNCHANGED, FileResult, is_not_analysed

FORMATS = ("text", "json", "github", "sarif")
JSON_VERSION = 1
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
REWRITE_RULE = "asyncfix-rewrite"  # the SARIF rule of "this file would be / was rewritten"
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


# -- line edits (for SARIF fixes) --------------------------------------------------------------

_LINE = re.compile(r"[^\n]*\n|[^\n]+")  # SARIF's default newline sequences: "\r\n" and "\n"


def _lines(text: str) -> List[str]:
    return _LINE.findall(text)


@dataclass(frozen=True)
class Edit:
    """Replace old lines ``[start, end)`` (0-based) with ``text``."""

    start: int
    end: int
    text: str


def line_edits(old: str, new: str) -> List[Edit]:
    """The changed line ranges between two texts, top to bottom."""
    a, b = _lines(old), _lines(new)
    edits = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits.append(Edit(i1, i2, "".join(b[j1:j2])))
    return edits


def _position(lines: Sequence[str], index: int) -> Tuple[int, int]:
    """The SARIF (line, column), 1-based, where old line ``index`` (0-based) starts; past the
    last line, the end of the text (the start of the line after a final newline)."""
    if index < len(lines):
        return index + 1, 1
    if not lines:
        return 1, 1
    last = lines[-1]
    return (len(lines) + 1, 1) if last.endswith("\n") else (len(lines), len(last) + 1)


def deleted_region(lines: Sequence[str], edit: Edit) -> Dict[str, int]:
    """The SARIF region of old lines ``[start, end)``, newlines included (the end column is
    exclusive); an insertion is the empty region where its text goes."""
    start_line, start_column = _position(lines, edit.start)
    end_line, end_column = _position(lines, edit.end)
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


# -- JSON ------------------------------------------------------------------------------------


def _diagnostic_json(diagnostic: Diagnostic) -> Dict[str, Any]:
    return {
        "file": diagnostic.path,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "codemod": diagnostic.codemod,
        # A diagnostic is what a codemod saw and deliberately did not rewrite: asyncfix has no
        # fix for it (see `asyncfix --explain CODE`). Rewrites are the `files[].diff`s.
        "fix_available": False,
    }


def json_document(run: RunResults) -> Dict[str, Any]:
    skipped = set(run.skipped)
    files = []
    for result in run.results:
        status = SKIPPED if result.display in skipped else result.status
        files.append(
            {
                "file": result.display,
                "status": status,
                "fix_available": result.status == CHANGED,
                "diff": result.diff if result.status == CHANGED else None,
                "rewrites": dict(sorted(result.rewrites.items())),
                "requirements": sorted(result.requirements) if result.status == CHANGED else [],
                "error": result.error,
                "diagnostics": [_diagnostic_json(d) for d in result.diagnostics],
            }
        )
    counts = run.counts()
    return {
        "version": JSON_VERSION,
        "tool": {"name": "asyncfix", "version": _version()},
        "mode": run.mode,
        "files": files,
        "diagnostics": [_diagnostic_json(d) for d in run.diagnostics],
        "summary": {
            "files": len(run.results),
            "changed": counts[CHANGED],
            "skipped": counts[SKIPPED],
            "unchanged": counts[UNCHANGED],
            "failed": counts[FAILED],
            "diagnostics": len(run.diagnostics),
            "rewrites": dict(sorted(run.rewrites().items())),
            "requirements": list(run.requirements()),
        },
    }


def render_json(run: RunResults) -> str:
    return json.dumps(json_document(run), indent=2, ensure_ascii=False) + "\n"


# -- GitHub Actions workflow commands ----------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties: Any) -> str:
    props = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return (
        f"::{kind} {props}::{_escape_data(message)}"
        if props
        else f"::{kind}::{_escape_data(message)}"
    )


def render_github(run: RunResults) -> str:
    """One workflow command per finding: GitHub shows each as an annotation on the line."""
    out = []
    skipped = set(run.skipped)
    for result in run.results:
        if result.status == FAILED:
            out.append(
                _command("error", result.error or "failed", file=result.display, title="asyncfix")
            )
            continue
        if result.status == CHANGED and result.display not in skipped:
            line = _first_line(result)
            done = ", ".join(f"{name} {n}" for name, n in sorted(result.rewrites.items()))
            if run.mode == "apply":
                message = f"rewrote this file ({done})"
                kind = "notice"
            else:
                message = f"asyncfix would rewrite this file ({done}); run `asyncfix --apply`"
                kind = "warning"
            out.append(_command(kind, message, file=result.display, line=line, title="asyncfix"))
        for d in result.diagnostics:
            message = f"{d.message} (hint: {d.hint})" if d.hint else d.message
            out.append(
                _command("warning", message, file=d.path, line=d.line, col=d.column, title=d.code)
            )
    return "".join(line + "\n" for line in out)


# -- SARIF 2.1.0 -----------------------------------------------------------------------------


def _uri(display: str) -> Tuple[str, Optional[str]]:
    """A URI reference for a displayed path, and its base id (None for an absolute URI)."""
    if os.path.isabs(display):
        return PurePath(display).as_uri(), None
    return quote(PurePath(display).as_posix()), "%SRCROOT%"


def _location(display: str, region: Optional[Dict[str, int]] = None) -> Dict[str, Any]:
    uri, base = _uri(display)
    artifact: Dict[str, Any] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base
    physical: Dict[str, Any] = {"artifactLocation": artifact}
    if region:
        physical["region"] = region
    return {"physicalLocation": physical}


def _rules(run: RunResults) -> List[Dict[str, Any]]:
    codes = known_codes()
    used = sorted({d.code for d in run.diagnostics} | set(codes))
    rules = []
    for code in used:
        texts = codes.get(code, [])
        full = "\n\n".join(text.strip() for _, text in texts) or code
        rules.append(
            {
                "id": code,
                "name": code,
                "shortDescription": {"text": _summary_of(full)},
                "fullDescription": {"text": full},
                "help": {"text": full},
                "defaultConfiguration": {"level": "warning"},
                "properties": {"codemods": [name for name, _ in texts]},
            }
        )
    rules.append(
        {
            "id": REWRITE_RULE,
            "name": "rewrite",
            "shortDescription": {"text": "Blocking code in async code that asyncfix rewrites."},
            "fullDescription": {
                "text": "asyncfix rewrites this file mechanically into correct async code; the "
                "result carries the rewrite as a SARIF fix. Run `asyncfix --apply` to write it."
            },
            "defaultConfiguration": {"level": "warning"},
        }
    )
    return rules


def _rewrite_result(result: FileResult, mode: str, rule_index: int) -> Dict[str, Any]:
    old = result.old_text or ""
    lines = _lines(old)
    replacements = []
    for edit in line_edits(old, result.new_text or ""):
        replacement: Dict[str, Any] = {"deletedRegion": deleted_region(lines, edit)}
        if edit.text:
            replacement["insertedContent"] = {"text": edit.text}
        replacements.append(replacement)
    done = ", ".join(f"{name} {n}" for name, n in sorted(result.rewrites.items()))
    verb = "asyncfix rewrote this file" if mode == "apply" else "asyncfix would rewrite this file"
    location = _location(result.display, {"startLine": _first_line(result)})
    sarif: Dict[str, Any] = {
        "ruleId": REWRITE_RULE,
        "ruleIndex": rule_index,
        # Once written, the finding is information; "kind" other than "fail" needs level "none".
        "kind": "informational" if mode == "apply" else "fail",
        "level": "none" if mode == "apply" else "warning",
        "message": {"text": f"{verb} ({done})"},
        "locations": [location],
        "properties": {"rewrites": dict(sorted(result.rewrites.items())), "diff": result.diff},
    }
    if replacements:
        uri = location["physicalLocation"]["artifactLocation"]
        sarif["fixes"] = [
            {
                "description": {"text": f"asyncfix: {done}"},
                "artifactChanges": [{"artifactLocation": uri, "replacements": replacements}],
            }
        ]
    return sarif


def _first_line(result: FileResult) -> int:
    """The first changed line of a changed file (1-based, within the old text)."""
    old = result.old_text or ""
    edits = line_edits(old, result.new_text or "")
    if not edits:
        return 1
    return max(1, min(edits[0].start + 1, len(_lines(old))))


def sarif_document(run: RunResults) -> Dict[str, Any]:
    rules = _rules(run)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    skipped = set(run.skipped)
    results: List[Dict[str, Any]] = []
    notifications: List[Dict[str, Any]] = []
    for result in run.results:
        if result.status == FAILED:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{result.display}: {result.error}"},
                    "locations": [_location(result.display)],
                }
            )
            continue
        if result.status == CHANGED and result.display not in skipped:
            results.append(_rewrite_result(result, run.mode, index[REWRITE_RULE]))
        for d in result.diagnostics:
            message = f"{d.message} (hint: {d.hint})" if d.hint else d.message
            results.append(
                {
                    "ruleId": d.code,
                    "ruleIndex": index[d.code],
                    "level": "warning",
                    "message": {"text": message},
                    "locations": [
                        _location(d.path, {"startLine": d.line, "startColumn": d.column})
                    ],
                    "properties": {"codemod": d.codemod, "hint": d.hint},
                }
            )
    root = os.getcwd()
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asyncfix",
                        "version": _version(),
                        "semanticVersion": _version(),
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": PurePath(root).as_uri().rstrip("/") + "/"}
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif(run: RunResults) -> str:
    return json.dumps(sarif_document(run), indent=2, ensure_ascii=False) + "\n"


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


def render_document(fmt: str, run: RunResults) -> str:
    """The whole-run formats (everything but text)."""
    if fmt == "json":
        return render_json(run)
    if fmt == "github":
        return render_github(run)
    if fmt == "sarif":
        return render_sarif(run)
    raise ValueError(fmt)
