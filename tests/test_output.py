"""Issue 11: machine-readable output (JSON, GitHub annotations, SARIF), --diff, --interactive,
--explain, the migration report and the pre-commit hooks."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import asyncfix.cli
import jsonschema
import libcst as cst
import pytest
import yaml
from asyncfix import codemods as registry
from asyncfix.cli import main
from asyncfix.codemods import gates
from asyncfix.codemods.base import Codemod, Diagnostic
from asyncfix.codemods.engine import FileResult
from asyncfix.documents import _lines, deleted_region, line_edits, render_github
from asyncfix.output import RunResults, known_codes
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

BLOCKING = b'import time\n\n\nasync def wait():\n    time.sleep(0.2)\n    return {"msg": "done"}\n'
FIXED = b'import asyncio\n\n\nasync def wait():\n    await asyncio.sleep(0.2)\n    return {"msg": "done"}\n'
# One rewrite, and one ASYNC251 diagnostic asyncfix will not rewrite (a generator expression).
MIXED = (
    b"import time\n\n\nasync def wait():\n    time.sleep(1)\n\n\n"
    b"async def total():\n    return sum(time.sleep(1) or 1 for _ in range(3))\n"
)
SYNC = b"import time\n\n\ndef wait():\n    time.sleep(0.2)\n"


def invoke(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a file to rewrite (plus a diagnostic), a sync file and a broken file;
    the test runs from inside it, so paths are relative as in CI."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "mixed.py").write_bytes(MIXED)
    (tmp_path / "app" / "routes.py").write_bytes(BLOCKING)
    (tmp_path / "app" / "sync_routes.py").write_bytes(SYNC)
    (tmp_path / "app" / "broken.py").write_bytes(b"x = (\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- JSON --------------------------------------------------------------------------------------


def json_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "output.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_json_output_is_valid_against_its_schema_and_complete(project: Path):
    result = invoke("--output-format", "json", "app")
    assert result.exit_code == 2  # broken.py failed; everything else is still reported
    document = json.loads(result.stdout)
    json_validator().validate(document)
    assert document["version"] == 1 and document["mode"] == "dry-run"
    files = {entry["file"]: entry for entry in document["files"]}
    assert list(files) == ["app/broken.py", "app/mixed.py", "app/routes.py", "app/sync_routes.py"]
    assert files["app/broken.py"]["status"] == "failed"
    assert "'(' was never closed" in files["app/broken.py"]["error"]
    routes = files["app/routes.py"]
    assert routes["status"] == "changed" and routes["fix_available"] is True
    assert routes["rewrites"] == {"sleep_to_asyncio": 1}
    assert "+    await asyncio.sleep(0.2)\n" in routes["diff"]
    assert routes["diff"].startswith("--- a/app/routes.py\n+++ b/app/routes.py\n")
    assert files["app/sync_routes.py"] == {
        "file": "app/sync_routes.py",
        "status": "unchanged",
        "fix_available": False,
        "diff": None,
        "rewrites": {},
        "requirements": [],
        "error": None,
        "group": None,
        "diagnostics": [],
    }
    assert document["diagnostics"] == files["app/mixed.py"]["diagnostics"]
    (diagnostic,) = document["diagnostics"]
    assert diagnostic == {
        "file": "app/mixed.py",
        "line": 9,
        "column": 16,
        "code": "ASYNC251",
        "message": "time.sleep in a generator expression inside a coroutine blocks the event loop",
        "hint": "turn the generator expression into a loop or list comprehension, then rerun",
        "codemod": "sleep_to_asyncio",
        "fix_available": False,
    }
    assert document["summary"] == {
        "files": 4,
        "changed": 2,
        "skipped": 0,
        "unchanged": 1,
        "failed": 1,
        "diagnostics": 1,
        "rewrites": {"sleep_to_asyncio": 2},
        "requirements": [],
    }
    # stdout is the document alone; the summary and the error go to stderr
    assert "asyncfix: 4 files scanned" in result.stderr
    assert "error: app/broken.py" in result.stderr


def test_json_schema_rejects_what_it_should():
    """The schema is not a rubber stamp: a missing field or a wrong type fails it."""
    validator = json_validator()
    good = {
        "version": 1,
        "tool": {"name": "asyncfix", "version": "0.1.0"},
        "mode": "check",
        "files": [],
        "diagnostics": [],
        "summary": {
            "files": 0,
            "changed": 0,
            "skipped": 0,
            "unchanged": 0,
            "failed": 0,
            "diagnostics": 0,
            "rewrites": {},
            "requirements": [],
        },
    }
    validator.validate(good)
    assert not validator.is_valid({**good, "version": 2})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "summary"})
    changed_without_diff = {
        "file": "a.py",
        "status": "changed",
        "fix_available": True,
        "diff": None,
        "rewrites": {},
        "requirements": [],
        "error": None,
        "diagnostics": [],
    }
    assert not validator.is_valid({**good, "files": [changed_without_diff]})


def test_json_in_apply_mode_writes_and_reports(project: Path):
    result = invoke("--apply", "--output-format", "json", "app/routes.py")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    json_validator().validate(document)
    assert document["mode"] == "apply" and document["files"][0]["status"] == "changed"
    assert (project / "app" / "routes.py").read_bytes() == FIXED


# -- GitHub Actions annotations ----------------------------------------------------------------


def test_github_annotations_end_to_end(project: Path):
    result = invoke("--output-format", "github", "app")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines == [
        "::error file=app/broken.py,title=asyncfix::syntax error at line 1, column 5: '(' was never closed",
        "::warning file=app/mixed.py,line=1,title=asyncfix::asyncfix would rewrite this file "
        "(sleep_to_asyncio 1); run `asyncfix --apply`",
        "::warning file=app/mixed.py,line=9,col=16,title=ASYNC251::time.sleep in a generator "
        "expression inside a coroutine blocks the event loop (hint: turn the generator expression "
        "into a loop or list comprehension, then rerun)",
        "::warning file=app/routes.py,line=1,title=asyncfix::asyncfix would rewrite this file "
        "(sleep_to_asyncio 1); run `asyncfix --apply`",
    ]


def test_github_escaping_of_data_and_properties():
    diagnostic = Diagnostic(
        "we,ird:dir/a%b.py", 3, 7, "ASYNC251", "50% done\r\nnext: line", "a, b", "sleep_to_asyncio"
    )
    run = RunResults(
        "check", [FileResult("we,ird:dir/a%b.py", "x", "unchanged", diagnostics=[diagnostic])]
    )
    assert render_github(run) == (
        "::warning file=we%2Cird%3Adir/a%25b.py,line=3,col=7,title=ASYNC251"
        "::50%25 done%0D%0Anext: line (hint: a, b)\n"
    )


# -- SARIF -------------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((DATA / "sarif-schema-2.1.0-rtm.4.json").read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _offset(text: str, line: int, column: int) -> int:
    """Where SARIF's 1-based (line, column) points in ``text`` (lines end at "\\n"), the way a
    consumer applying a fix reads it; the line after a final newline is the end of the text."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    assert 1 <= line <= len(starts), (line, len(starts))
    offset = starts[line - 1] + column - 1
    assert offset <= len(text)
    return offset


def apply_replacements(text: str, replacements: List[Dict]) -> str:
    """Apply SARIF replacements (per the spec, all against the original text)."""
    spans = []
    for replacement in replacements:
        region = replacement["deletedRegion"]
        start = _offset(text, region["startLine"], region["startColumn"])
        end = _offset(text, region["endLine"], region["endColumn"])
        spans.append((start, end, replacement.get("insertedContent", {}).get("text", "")))
    for start, end, inserted in sorted(spans, reverse=True):
        text = text[:start] + inserted + text[end:]
    return text


def test_sarif_is_valid_and_its_fixes_reproduce_the_rewrite(project: Path):
    result = invoke("--output-format", "sarif", "app")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    sarif_validator().validate(document)
    (run,) = document["runs"]
    assert document["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "asyncfix"
    rules = run["tool"]["driver"]["rules"]
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    diagnostics = [r for r in run["results"] if r["ruleId"] == "ASYNC251"]
    assert len(diagnostics) == 1
    assert diagnostics[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/mixed.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 9, "startColumn": 16},
    }
    assert "time.sleep" in rules[diagnostics[0]["ruleIndex"]]["fullDescription"]["text"]
    (failure,) = run["invocations"][0]["toolExecutionNotifications"]
    assert failure["level"] == "error" and "app/broken.py" in failure["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is False

    rewrites = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
        for r in run["results"]
        if r["ruleId"] == "asyncfix-rewrite"
    }
    assert sorted(rewrites) == ["app/mixed.py", "app/routes.py"]
    originals = {uri: (project / uri).read_text() for uri in rewrites}
    assert invoke("--apply", "app").exit_code == 2  # broken.py still fails
    for uri, item in rewrites.items():
        (fix,) = item["fixes"]
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"]["uri"] == uri
        assert (
            apply_replacements(originals[uri], change["replacements"])
            == (project / uri).read_text()
        )


def test_sarif_uses_file_uris_for_absolute_paths(project: Path):
    result = invoke("--output-format", "sarif", str(project / "app" / "routes.py"))
    document = json.loads(result.stdout)
    sarif_validator().validate(document)
    uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": (project / "app" / "routes.py").as_uri()}


def test_sarif_schema_is_not_a_rubber_stamp():
    validator = sarif_validator()
    assert validator.is_valid({"version": "2.1.0", "runs": []})
    assert not validator.is_valid({"version": "2.0.0", "runs": []})
    bad_result = {"message": {"text": "x"}, "level": "loud"}
    run = {"tool": {"driver": {"name": "asyncfix"}}, "results": [bad_result]}
    assert not validator.is_valid({"version": "2.1.0", "runs": [run]})


@pytest.mark.parametrize(
    "old, new",
    [
        pytest.param("a\nb\nc\n", "a\nB\nc\n", id="replace-middle"),
        pytest.param("a\nb\nc\n", "x\na\nb\nc\n", id="insert-first"),
        pytest.param("a\nb\nc\n", "a\nb\nc\nd\n", id="append-after-final-newline"),
        pytest.param("a\nb\nc", "a\nb\nc\nd", id="append-without-final-newline"),
        pytest.param("a\nb\nc", "a\nb\nC", id="replace-last-without-newline"),
        pytest.param("a\nb\nc\n", "c\n", id="delete-first-lines"),
        pytest.param("a\nb\nc\n", "a\n", id="delete-to-end"),
        pytest.param("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\nd\r\n", id="crlf"),
        pytest.param("", "import asyncio\n", id="empty-file"),
        pytest.param("x = 1\n", "", id="to-empty"),
        pytest.param("a\rstill a\nb\n", "a\rstill a\nB\n", id="lone-cr-is-not-a-newline"),
    ],
)
def test_line_edits_as_sarif_regions_round_trip(old: str, new: str):
    lines = _lines(old)
    replacements = []
    for edit in line_edits(old, new):
        replacements.append(
            {"deletedRegion": deleted_region(lines, edit), "insertedContent": {"text": edit.text}}
        )
    assert replacements or old == new
    assert apply_replacements(old, replacements) == new


# -- --diff ------------------------------------------------------------------------------------


def test_diff_is_an_alias_of_dry_run(project: Path):
    dry = invoke("--dry-run", "app/routes.py")
    diff = invoke("--diff", "app/routes.py")
    assert diff.exit_code == dry.exit_code == 1
    assert diff.stdout == dry.stdout and "+    await asyncio.sleep(0.2)" in diff.stdout
    assert invoke("--diff", "--apply", "app").exit_code == 2


# -- --interactive -----------------------------------------------------------------------------


@pytest.fixture
def three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_bytes(BLOCKING)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def written(root: Path) -> List[str]:
    return [p.name for p in sorted(root.glob("*.py")) if p.read_bytes() == FIXED]


def test_interactive_yes_no_yes(three: Path):
    result = invoke("-i", ".", input="y\nn\ny\n")
    assert result.exit_code == 0
    assert written(three) == ["a.py", "c.py"]
    assert result.stdout.count("Apply this change to") == 3
    assert result.stdout.count("+    await asyncio.sleep(0.2)") == 3  # each diff is shown
    assert "2 rewritten, 1 skipped" in result.stderr


def test_interactive_quit_stops_and_writes_nothing_more(three: Path):
    result = invoke("--interactive", ".", input="y\nq\n")
    assert result.exit_code == 0
    assert written(three) == ["a.py"]
    assert result.stdout.count("Apply this change to") == 2


def test_interactive_all_applies_the_rest_without_asking(three: Path):
    result = invoke("-i", ".", input="n\na\n")
    assert written(three) == ["b.py", "c.py"]
    assert result.stdout.count("Apply this change to") == 2


def test_interactive_end_of_input_means_quit_and_bad_answers_ask_again(three: Path):
    result = invoke("-i", ".", input="maybe\nY\n")
    assert result.exit_code == 0
    assert written(three) == ["a.py"]
    assert "Error: 'maybe' is not one of" in result.stdout


def test_interactive_conflicts(three: Path):
    assert invoke("-i", "--check", ".").exit_code == 2
    assert invoke("-i", "--output-format", "json", ".").exit_code == 2
    assert invoke("-i", "-", input=BLOCKING).exit_code == 2


# -- --explain ---------------------------------------------------------------------------------


def test_explain_prints_the_codemods_explanation():
    result = invoke("--explain", "ASYNC251")
    assert result.exit_code == 0
    assert result.stdout.startswith("ASYNC251 (reported by sleep_to_asyncio)\n\n")
    assert "generator expression" in result.stdout
    assert invoke("--explain", "async251").stdout == result.stdout


def test_explain_unknown_code_lists_the_known_ones():
    result = invoke("--explain", "NOPE123")
    assert result.exit_code == 2
    assert "unknown diagnostic code 'NOPE123'" in result.stderr
    assert "ASYNC251" in result.stderr
    assert set(known_codes()) <= set(re.findall(r"[A-Z][A-Z0-9]+", result.stderr))


def test_every_code_in_the_goldens_can_be_explained():
    """A code a codemod reports but does not declare in CODES would leave `--explain` (and
    SARIF's rule help) empty."""
    known = set(known_codes())
    for path in sorted((REPO / "before_after").rglob("*.diagnostics")):
        for line in path.read_text().splitlines():
            match = re.match(r"\d+:\d+: (\S+) ", line)
            if match:
                assert match.group(1) in known, f"{path.relative_to(REPO)}: {line}"


# -- the migration report and declared runtime dependencies -------------------------------------


class NeedsPackages(Codemod):
    """A test-only codemod: `legacy_get(url)` in a coroutine becomes `await modern_get(url)`;
    its output needs `httpx` always and `asyncpg` when the URL says postgres."""

    NAME = "needs_packages"
    DESCRIPTION = "test only"
    NEEDS = (b"legacy_get",)
    REQUIRES = ("httpx",)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (isinstance(original.func, cst.Name) and original.func.value == "legacy_get"):
            return updated
        if self.coroutine_of(original) is None:
            return updated
        self.rewrote()
        if "postgres" in cst.Module([]).code_for_node(original.args[0].value):
            self.require("asyncpg")
        return cst.Await(updated.with_changes(func=cst.Name("modern_get")))


@pytest.fixture
def with_test_codemod(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(registry.BY_NAME, NeedsPackages.NAME, NeedsPackages)
    monkeypatch.setitem(gates.GATE_BY_NAME, NeedsPackages.NAME, NeedsPackages)  # its first pass
    monkeypatch.setattr(asyncfix.cli, "NAMES", (*asyncfix.cli.NAMES, NeedsPackages.NAME))


def test_apply_report_lists_conversions_diagnostics_and_dependencies(
    project: Path, with_test_codemod
):
    (project / "app" / "db.py").write_text(
        "async def load():\n    return legacy_get('postgres://db/x')\n"
    )
    (project / "app" / "web.py").write_text(
        "async def page():\n    return legacy_get('https://x')\n"
    )
    result = invoke("--apply", "--jobs", "1", "--report", "report.md", "app")
    assert result.exit_code == 2  # broken.py
    assert "needs a human: 1 diagnostic (ASYNC251 1)" in result.stderr
    assert "the rewritten code needs these packages installed: asyncpg, httpx" in result.stderr
    report = (project / "report.md").read_text()
    assert report.startswith("# asyncfix migration report\n")
    assert "`asyncfix --apply`: 6 files scanned, 4 rewritten, 1 unchanged, 1 failed." in report
    assert "| `needs_packages` | 2 | 2 |" in report
    assert "| `sleep_to_asyncio` | 2 | 2 |" in report
    assert "- `app/db.py`: needs_packages 1" in report
    assert "### ASYNC251 (1)" in report
    # --apply names lines of the file as written (`import asyncio` was added above line 9).
    assert "- `app/mixed.py:10:16`: time.sleep in a generator expression" in report
    assert "## Failed" in report and "- `app/broken.py`: syntax error" in report
    assert "| `asyncpg` | `needs_packages` (`app/db.py`) |" in report
    assert "| `httpx` | `needs_packages` (`app/db.py`, `app/web.py`) |" in report
    assert "pip install asyncpg httpx" in report
    assert (project / "app" / "db.py").read_text() == (
        'async def load():\n    return await modern_get("postgres://db/x")\n'
    )


def test_requirements_reach_the_json_output(project: Path, with_test_codemod):
    (project / "app" / "web.py").write_text(
        "async def page():\n    return legacy_get('https://x')\n"
    )
    document = json.loads(invoke("--output-format", "json", "--jobs", "1", "app/web.py").stdout)
    json_validator().validate(document)
    assert document["files"][0]["requirements"] == ["httpx"]
    assert document["summary"]["requirements"] == ["httpx"]


def test_report_on_a_clean_project_and_to_stdout(tmp_path: Path):
    (tmp_path / "ok.py").write_bytes(SYNC)
    result = invoke("--check", "--quiet", "--report", "-", str(tmp_path))
    assert result.exit_code == 0
    assert "## Would be converted\n\nNothing." in result.stdout
    assert "Nothing: no diagnostics." in result.stdout
    assert "None: the rewritten code needs no package" in result.stdout


# -- pre-commit --------------------------------------------------------------------------------


def test_hook_manifest_is_well_formed():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in hooks] == ["asyncfix", "asyncfix-apply"]
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["types"] == ["python"]
        assert hook["require_serial"] is True  # one process sees the whole project


@pytest.fixture
def staged_repo(tmp_path: Path) -> Path:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "routes.py").write_bytes(BLOCKING)
    (tmp_path / "pkg" / "sync_routes.py").write_bytes(SYNC)
    (tmp_path / "unstaged.py").write_bytes(BLOCKING)
    subprocess.run([git, "add", "pkg"], cwd=tmp_path, check=True, env=env)
    return tmp_path


def run_hook(hook_id: str, repo: Path) -> subprocess.CompletedProcess:
    """What pre-commit does: split the entry like a shell, append the staged file names, run
    it from the repository root with the hook's environment on PATH."""
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    }
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    files = [name for name in staged if name.endswith(".py")]
    assert files == ["pkg/routes.py", "pkg/sync_routes.py"]
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    return subprocess.run(
        [*shlex.split(hooks[hook_id]["entry"]), *hooks[hook_id].get("args", []), *files],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_check_hook_fails_on_staged_blocking_code_and_changes_nothing(staged_repo: Path):
    result = run_hook("asyncfix", staged_repo)
    assert result.returncode == 1
    assert result.stdout == "would rewrite pkg/routes.py\n"
    assert (staged_repo / "pkg" / "routes.py").read_bytes() == BLOCKING
    (staged_repo / "pkg" / "routes.py").write_bytes(FIXED)
    assert run_hook("asyncfix", staged_repo).returncode == 0


def test_apply_hook_rewrites_only_the_staged_files(staged_repo: Path):
    result = run_hook("asyncfix-apply", staged_repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "rewrote pkg/routes.py\n"
    assert (staged_repo / "pkg" / "routes.py").read_bytes() == FIXED
    assert (staged_repo / "pkg" / "sync_routes.py").read_bytes() == SYNC
    assert (staged_repo / "unstaged.py").read_bytes() == BLOCKING
    again = run_hook("asyncfix-apply", staged_repo)
    assert again.returncode == 0 and again.stdout == ""


def test_sarif_after_apply_is_valid_and_marks_rewrites_as_done(project: Path):
    result = invoke("--apply", "--output-format", "sarif", "app/routes.py", "app/mixed.py")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    sarif_validator().validate(document)
    kinds = {(r["ruleId"], r.get("kind"), r["level"]) for r in document["runs"][0]["results"]}
    assert kinds == {("asyncfix-rewrite", "informational", "none"), ("ASYNC251", None, "warning")}
    assert document["runs"][0]["invocations"][0]["executionSuccessful"] is True
