"""The whole-run documents for machines: JSON, GitHub Actions annotations and SARIF 2.1.0
(with its fixes as line edits), from the :class:`output.RunResults` of a run.

The JSON document's shape is described by ``schemas/output.schema.json`` (its ``version``
changes only when a field changes meaning or goes away; new fields may appear without a
version change).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from .codemods.diagnostic import Diagnostic
from .codemods.results import CHANGED, FAILED, UNCHANGED, FileResult
from .output import SKIPPED, RunResults, _summary_of, _version, known_codes

JSON_VERSION = 1
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
REWRITE_RULE = "asyncfix-rewrite"  # the SARIF rule of "this file would be / was rewritten"


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


def _group(result: FileResult, displays: Dict[str, str]) -> Optional[Dict[str, Any]]:
    """The group a file is written with (groups.py), or None for a file on its own: every
    member as displayed, and the member whose failure kept this one from being written."""
    if not result.group:
        return None
    return {
        "members": [displays.get(path, path) for path in result.group],
        "failed_member": result.culprit,
    }


def json_document(run: RunResults) -> Dict[str, Any]:
    skipped = set(run.skipped)
    displays = {result.path: result.display for result in run.results}
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
                "group": _group(result, displays),
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
    displays = {result.path: result.display for result in run.results}
    results: List[Dict[str, Any]] = []
    notifications: List[Dict[str, Any]] = []
    for result in run.results:
        group = _group(result, displays)
        if result.status == FAILED:
            notification: Dict[str, Any] = {
                "level": "error",
                "message": {"text": f"{result.display}: {result.error}"},
                "locations": [_location(result.display)],
            }
            if group is not None:
                notification["properties"] = {"group": group}
            notifications.append(notification)
            continue
        if result.status == CHANGED and result.display not in skipped:
            rewrite = _rewrite_result(result, run.mode, index[REWRITE_RULE])
            if group is not None:
                rewrite["properties"]["group"] = group
            results.append(rewrite)
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


def render_document(fmt: str, run: RunResults) -> str:
    """The whole-run formats (everything but text)."""
    if fmt == "json":
        return render_json(run)
    if fmt == "github":
        return render_github(run)
    if fmt == "sarif":
        return render_sarif(run)
    raise ValueError(fmt)
