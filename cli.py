"""The ``asyncfix`` command: gathers files and options, runs the engine, renders its results.

Exit codes: 0 nothing to do (or ``--apply`` / ``--interactive`` finished); 1 changes found in
``--dry-run`` / ``--check``; 2 a usage or configuration error, an unknown ``--explain`` code, or
any file that failed (after every other file was processed), or ``--verify`` rolled the rewrite
back (or its baseline could not run: nothing was written).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from typing import Any, List, Optional, Tuple

import click

from .codemods import NAMES
from .codemods.cache import directory_for, key_of_run, reused
from .codemods.config import (
    CLI_OPTIONS,
    ConfigError,
    asyncfix_options,
    black_options,
    find_project_root,
    load_pyproject,
)
from .codemods.files import DEFAULT_EXCLUDES, discover
from .codemods.imports import style_from as isort_style

# Only what a run whose results come from the cache needs is imported here: the engine (libcst,
# every codemod) and black are imported when a run computes something (tests/test_cache.py).
from .codemods.results import (
    CHANGED,
    FAILED,
    FileResult,
    Settings,
    default_jobs,
)
from .documents import render_document
from .output import (
    FORMATS,
    RunResults,
    explain,
    follow_up_lines,
    known_codes,
    render_report,
    summary_line,
)
from .probe_feedback import runtime_round
from .rewrite_pass import Review, Show, rewrite_pass, run_stdin
from .verify import DEFAULT_TIMEOUT, Verifier, VerifyError


def _names(value: Any, option: str) -> List[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(item).strip() for item in items if str(item).strip()]
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        valid = ", ".join(NAMES)
        raise click.UsageError(
            f"{option}: unknown codemod {', '.join(map(repr, unknown))} (valid: {valid})"
        )
    return names


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _list_codemods(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .codemods import REGISTRY

    width = max(len(codemod.NAME) for codemod in REGISTRY)
    for codemod in REGISTRY:
        click.echo(f"{codemod.NAME:<{width}}  {codemod.DESCRIPTION}")
    ctx.exit(0)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from . import __version__  # looked up only here: importlib.metadata is slow to import

    click.echo(f"asyncfix, version {__version__}")
    ctx.exit(0)


def _explain(ctx: click.Context, _param: click.Parameter, value: Optional[str]) -> None:
    if value is None or ctx.resilient_parsing:
        return
    text = explain(value)
    if text is None:
        known = ", ".join(known_codes()) or "(none)"
        click.echo(f"error: unknown diagnostic code {value!r}; known codes: {known}", err=True)
        ctx.exit(2)
    click.echo(text, nl=False)
    ctx.exit(0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--dry-run",
    "--diff",
    "dry_run",
    is_flag=True,
    help="Show a diff of every rewrite; write nothing (default).",
)
@click.option("--apply", "apply_", is_flag=True, help="Write the rewrites to the files.")
@click.option("--check", is_flag=True, help="CI form: list files that would change; exit 1 if any.")
@click.option(
    "-i",
    "--interactive",
    is_flag=True,
    help="Show each file's diff and ask: apply, skip, apply all the rest, or quit (y/n/a/q).",
)
@click.option(
    "--output-format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people; json (schemas/output.schema.json), github (Actions annotations) "
    "or sarif (2.1.0) for tools, printed to stdout at the end of the run.",
)
@click.option(
    "--report",
    "report",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write a Markdown migration report to FILE (`-` for stdout): what was converted, what "
    "needs a human, which packages the new code needs.",
)
@click.option(
    "--explain",
    metavar="CODE",
    expose_value=False,
    is_eager=True,
    callback=_explain,
    help="Explain a diagnostic code and how to fix it by hand, then exit.",
)
@click.option(
    "--verify",
    "verify_cmd",
    metavar="CMD",
    help="With --apply/-i: run CMD (e.g. pytest) before and after writing; if a test that "
    "passed before fails after, restore every written file and exit 2.",
)
@click.option(
    "--verify-timeout",
    type=click.IntRange(min=1),
    metavar="SECONDS",
    help=f"Time limit of each --verify run (default: {DEFAULT_TIMEOUT}).",
)
@click.option(
    "--migrate",
    is_flag=True,
    default=None,
    help="Opt-in whole-app migration: move sync SQLAlchemy sessions and requests to their async "
    "forms everywhere (def routes, helpers, scripts, tests), not only what blocks the loop.",
)
@click.option("--select", metavar="NAME,...", help="Run only these codemods.")
@click.option("--ignore", metavar="NAME,...", help="Do not run these codemods.")
@click.option(
    "--list-codemods",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_codemods,
    help="List every codemod with its summary and exit.",
)
@click.option(
    "--exclude",
    metavar="GLOB",
    multiple=True,
    help="Skip directories/files matching GLOB (name or relative path); adds to the defaults.",
)
@click.option(
    "--format/--no-format",
    "format_",
    default=True,
    help="Format the changed lines with black, using the project's [tool.black] (default: on).",
)
@click.option(
    "--cache/--no-cache",
    "use_cache",
    default=True,
    help="Reuse the first pass's per-file results of earlier runs (default: on; see README).",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count)."
)
@click.option("-q", "--quiet", is_flag=True, help="Print only diffs, diagnostics and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Also list unchanged files and notes.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and exit.",
)
@click.pass_context
def main(
    ctx: click.Context,
    paths: Tuple[str, ...],
    dry_run: bool,
    apply_: bool,
    check: bool,
    interactive: bool,
    output_format: str,
    report: Optional[str],
    verify_cmd: Optional[str],
    verify_timeout: Optional[int],
    migrate: Optional[bool],
    select: Optional[str],
    ignore: Optional[str],
    exclude: Tuple[str, ...],
    format_: bool,
    use_cache: bool,
    jobs: Optional[int],
    quiet: bool,
    verbose: bool,
) -> None:
    """Rewrite blocking code in async Python (FastAPI first) into correct async code.

    PATH may be files or directories (searched recursively for *.py); the default is `.`.
    `-` reads source from stdin and writes the rewritten source to stdout.
    """
    if sum((dry_run, apply_, check, interactive)) > 1:
        raise click.UsageError("choose one of --dry-run, --apply, --check and --interactive")
    mode = "apply" if apply_ or interactive else "check" if check else "dry-run"
    paths = paths or (".",)
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("`-` (stdin) cannot be combined with other paths")
    if "-" in paths and (interactive or report or output_format != "text"):
        raise click.UsageError(
            "`-` (stdin) cannot be combined with --interactive, --report or --output-format"
        )
    if interactive and output_format != "text":
        raise click.UsageError("--interactive works with --output-format text only")

    root = find_project_root(paths)
    try:
        pyproject = load_pyproject(root)
        config = asyncfix_options(pyproject, os.path.join(root, "pyproject.toml"))
    except ConfigError as error:
        raise click.UsageError(str(error))

    selected = _names(select if _given(ctx, "select") else config.get("select"), "--select")
    ignored = _names(ignore if _given(ctx, "ignore") else config.get("ignore"), "--ignore")
    names = tuple(
        name for name in NAMES if (not selected or name in selected) and name not in ignored
    )
    use_black = format_ if _given(ctx, "format_") else config.get("format", True)
    black_table = (black_options(pyproject) or {}) if use_black else None
    use_cache = use_cache if _given(ctx, "use_cache") else config.get("cache", True)
    settings = settings_from(
        root, pyproject, config, names, black_table, mode, use_cache, migrate, paths
    )

    verifier = _verifier(ctx, config, verify_cmd, verify_timeout, mode, paths, root, quiet)
    if paths == ("-",):
        ctx.exit(run_stdin(_with_black(settings), mode))

    excludes = (*DEFAULT_EXCLUDES, *config.get("exclude", []), *exclude)
    files, missing = discover(paths, excludes)
    # The last run's results, when it was this run (cache.py): then neither the engine nor
    # black is imported. --verify's second round reruns the engine: it always computes.
    key = key_of_run(files, settings) if settings.scan_cache else None
    kept = reused(files, settings, key) if verifier is None else None
    if kept is None:
        settings = _with_black(settings)
    workers = jobs or config.get("jobs") or default_jobs()
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ

    if mode == "apply":
        # `kill` (SIGTERM) unwinds like Ctrl-C, so a write in progress removes its temporary file.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    if verifier is not None and not verifier.baseline():  # on the untouched tree
        ctx.exit(2)

    run_results = RunResults(mode)
    for display, message in missing:
        run_results.results.append(FileResult(display, display, FAILED, error=message))
        click.echo(f"error: {display}: {message}", err=True)

    review = Review(color) if interactive else None
    show = Show(mode, output_format, color, quiet, verbose, review)
    rewrite_pass(
        files,
        settings,
        workers,
        show,
        verifier,
        run_results.results,
        run_results.skipped,
        kept,
        key,
    )
    if not quiet:
        click.echo(summary_line(mode, run_results), err=True)
        if mode == "apply" and output_format == "text":
            for line in follow_up_lines(run_results):
                click.echo(line, err=True)
    verified = verifier.finish() if verifier is not None else 0
    if verifier is not None and not verified and not (review is not None and review.quit):
        if review is not None:  # round 2's changes come from run-time facts: ask about each
            review.all = False
        runtime_round(
            verifier,
            settings,
            lambda later, out, skipped: rewrite_pass(
                files, later, workers, show, verifier, out, skipped
            ),
            run_results,
            quiet,
            output_format == "text",
        )
    if output_format != "text":
        click.echo(render_document(output_format, run_results), nl=False)
    if report:
        text = render_report(run_results, _command_line(ctx))
        if report == "-":
            click.echo(text, nl=False)
        else:
            try:
                with open(report, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as error:
                click.echo(f"error: --report {report}: {error.strerror}", err=True)
                ctx.exit(2)
    counts = run_results.counts()
    if counts[FAILED] or verified:
        ctx.exit(2)
    # --check passes only a tree asyncfix has nothing left to say about: a file it would change,
    # or a diagnostic (what it left for a human, what is still wrong after --apply), fails it.
    left = mode == "check" and any(result.diagnostics for result in run_results.results)
    ctx.exit(1 if (counts[CHANGED] and mode != "apply") or left else 0)


def _with_black(settings: Settings) -> Settings:
    """``settings`` once its [tool.black] table is known to make a black.Mode (formatting on).
    The mode itself is made where a file is first formatted (rewrite.py): a run that formats
    nothing never imports black. Checked here as black reads the table."""
    table = settings.black
    if table is None:
        return settings
    try:
        int(table.get("line_length", 88))
        versions = table.get("target_version", [])
        if isinstance(versions, str) or not all(
            re.fullmatch(r"py3\d+", str(version), re.IGNORECASE) for version in versions
        ):
            raise ValueError(f"target-version {versions!r}: a list of black's py3X names")
    except (ValueError, TypeError) as error:
        raise click.UsageError(f"[tool.black] in {settings.root}/pyproject.toml: {error}")
    return settings


def settings_from(
    root: str,
    pyproject: dict,
    config: dict,
    names: Tuple[str, ...],
    black: Optional[dict],
    mode: str,
    use_cache: bool,
    migrate: Optional[bool],
    paths: Tuple[str, ...],
) -> Settings:
    """The run's one :class:`Settings`: [tool.asyncfix] (minus the CLI's own keys) as the
    codemods' options, ``--migrate``, the cache, the project's isort style, [tool.black] (None:
    no formatting; :func:`_with_black` makes the black.Mode)."""
    options = {
        key: value
        for key, value in config.items()
        if key not in CLI_OPTIONS and key.replace("_", "-") not in CLI_OPTIONS
    }
    if migrate:
        options["migrate"] = True
    return Settings(
        codemods=names,
        black=black,
        root=root,
        options=options,
        scan_cache=directory_for(names) if use_cache and paths != ("-",) else None,
        written=mode == "apply",
        isort=isort_style(pyproject),
    )


def _verifier(
    ctx: click.Context,
    config: dict,
    command: Optional[str],
    timeout: Optional[int],
    mode: str,
    paths: Tuple[str, ...],
    root: str,
    quiet: bool,
) -> Optional[Verifier]:
    """``--verify`` (or ``[tool.asyncfix] verify``): only where files are written. Given on the
    command line in another mode it is a usage error; from the config it is ignored there. An
    empty CMD on the command line turns a configured one off."""
    given = _given(ctx, "verify_cmd")
    command = command if given else config.get("verify")
    if not command or (not given and (mode != "apply" or paths == ("-",))):
        return None
    if mode != "apply" or paths == ("-",):
        raise click.UsageError(
            "--verify works with --apply or --interactive on files, not with `-`"
        )
    if not _given(ctx, "verify_timeout"):
        timeout = config.get("verify_timeout", DEFAULT_TIMEOUT)
        if timeout is not None and timeout < 1:
            raise click.UsageError(
                f"[tool.asyncfix] verify-timeout must be at least 1, got {timeout}"
            )
    try:
        return Verifier(command, root, timeout or DEFAULT_TIMEOUT, quiet)
    except VerifyError as error:
        raise click.UsageError(str(error))


def _command_line(ctx: click.Context) -> str:
    """The mode of this run as a command, for the report's first line."""
    params = ctx.params
    for flag, key in (
        ("--interactive", "interactive"),
        ("--apply", "apply_"),
        ("--check", "check"),
    ):
        if params.get(key):
            return f"asyncfix {flag}"
    return "asyncfix --dry-run"
