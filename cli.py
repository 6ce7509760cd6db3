"""The ``asyncfix`` command: gathers files and options, runs the engine, renders its results.

Exit codes: 0 nothing to do (or ``--apply`` wrote everything); 1 changes found in ``--dry-run``
/ ``--check``; 2 a usage or configuration error, or any file that failed (after every other
file was processed).
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from . import __version__
from .codemods import BY_NAME, REGISTRY
from .codemods.config import (
    CLI_OPTIONS,
    ConfigError,
    asyncfix_options,
    black_options,
    find_project_root,
    load_pyproject,
)
from .codemods.engine import (
    CHANGED,
    FAILED,
    FileResult,
    Settings,
    default_jobs,
    run,
    transform_standalone,
    InternalError,
    SourceError,
)
from .codemods.files import DEFAULT_EXCLUDES, FileChangedError, discover, write_atomic


def _names(value: Any, option: str) -> List[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(item).strip() for item in items if str(item).strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        valid = ", ".join(codemod.NAME for codemod in REGISTRY)
        raise click.UsageError(
            f"{option}: unknown codemod {', '.join(map(repr, unknown))} (valid: {valid})"
        )
    return names


def _colour_diff(diff: str) -> str:
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


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _list_codemods(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    width = max(len(codemod.NAME) for codemod in REGISTRY)
    for codemod in REGISTRY:
        click.echo(f"{codemod.NAME:<{width}}  {codemod.DESCRIPTION}")
    ctx.exit(0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--dry-run", "dry_run", is_flag=True, help="Show a diff of every rewrite; write nothing (default).")
@click.option("--apply", "apply_", is_flag=True, help="Write the rewrites to the files.")
@click.option("--check", is_flag=True, help="CI form: list files that would change; exit 1 if any.")
@click.option("--select", metavar="NAME,...", help="Run only these codemods.")
@click.option("--ignore", metavar="NAME,...", help="Do not run these codemods.")
@click.option(
    "--list-codemods", is_flag=True, expose_value=False, is_eager=True, callback=_list_codemods,
    help="List every codemod with its summary and exit.",
)
@click.option(
    "--exclude", metavar="GLOB", multiple=True,
    help="Skip directories/files matching GLOB (name or relative path); adds to the defaults.",
)
@click.option(
    "--format/--no-format", "format_", default=True,
    help="Format the changed lines with black, using the project's [tool.black] (default: on).",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option("-q", "--quiet", is_flag=True, help="Print only diffs, diagnostics and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Also list unchanged files and notes.")
@click.version_option(__version__, prog_name="asyncfix")
@click.pass_context
def main(
    ctx: click.Context,
    paths: Tuple[str, ...],
    dry_run: bool,
    apply_: bool,
    check: bool,
    select: Optional[str],
    ignore: Optional[str],
    exclude: Tuple[str, ...],
    format_: bool,
    jobs: Optional[int],
    quiet: bool,
    verbose: bool,
) -> None:
    """Rewrite blocking code in async Python (FastAPI first) into correct async code.

    PATH may be files or directories (searched recursively for *.py); the default is `.`.
    `-` reads source from stdin and writes the rewritten source to stdout.
    """
    if sum((dry_run, apply_, check)) > 1:
        raise click.UsageError("choose one of --dry-run, --apply and --check")
    mode = "apply" if apply_ else "check" if check else "dry-run"
    paths = paths or (".",)
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("`-` (stdin) cannot be combined with other paths")

    root = find_project_root(paths)
    try:
        pyproject = load_pyproject(root)
        config = asyncfix_options(pyproject, os.path.join(root, "pyproject.toml"))
    except ConfigError as error:
        raise click.UsageError(str(error))

    selected = _names(select if _given(ctx, "select") else config.get("select"), "--select")
    ignored = _names(ignore if _given(ctx, "ignore") else config.get("ignore"), "--ignore")
    names = tuple(
        codemod.NAME
        for codemod in REGISTRY
        if (not selected or codemod.NAME in selected) and codemod.NAME not in ignored
    )
    use_black = format_ if _given(ctx, "format_") else config.get("format", True)
    black_mode = None
    if use_black:
        from .codemods.formatting import black_mode as make_mode

        try:
            black_mode = make_mode(black_options(pyproject))
        except (KeyError, ValueError, TypeError) as error:
            raise click.UsageError(f"[tool.black] in {root}/pyproject.toml: {error}")
    options = {key: value for key, value in config.items() if key not in CLI_OPTIONS}
    settings = Settings(codemods=names, black_mode=black_mode, root=root, options=options)

    if paths == ("-",):
        ctx.exit(_run_stdin(settings, mode))

    excludes = (*DEFAULT_EXCLUDES, *config.get("exclude", []), *exclude)
    files, missing = discover(paths, excludes)
    workers = jobs or config.get("jobs") or default_jobs()
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ

    if mode == "apply":
        # `kill` (SIGTERM) unwinds like Ctrl-C, so a write in progress removes its temporary file.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    counts: Counter = Counter()
    rewrites: Counter = Counter()
    diagnostics = 0
    for display, message in missing:
        counts[FAILED] += 1
        click.echo(f"error: {display}: {message}", err=True)

    results = run(files, settings, workers)
    show_bar = sys.stderr.isatty() and not quiet and len(files) > 1
    bar = click.progressbar(length=len(files), file=sys.stderr, label="asyncfix") if show_bar else None
    try:
        for result in results:
            if bar is not None:
                bar.update(1)
            _render(result, mode, color, quiet, verbose)
            if result.status == CHANGED and mode == "apply":
                try:
                    write_atomic(result.path, result.new or b"", result.original_digest or b"")
                except (OSError, FileChangedError) as error:
                    result.status = FAILED
                    reason = error.strerror if isinstance(error, OSError) else str(error)
                    click.echo(f"error: {result.display}: cannot write: {reason}", err=True)
            counts[result.status] += 1
            rewrites.update(result.rewrites)
            diagnostics += len(result.diagnostics)
    finally:
        if bar is not None:
            bar.finish()
            click.echo(err=True)

    if not quiet:
        _summary(mode, len(files) + len(missing), counts, rewrites, diagnostics)
    if counts[FAILED]:
        ctx.exit(2)
    ctx.exit(1 if counts[CHANGED] and mode != "apply" else 0)


def _render(result: FileResult, mode: str, color: bool, quiet: bool, verbose: bool) -> None:
    if result.status == FAILED:
        click.echo(f"error: {result.display}: {result.error}", err=True)
    elif result.status == CHANGED:
        if mode == "dry-run":
            click.echo(_colour_diff(result.diff) if color else result.diff, nl=False, color=color)
        elif mode == "check":
            click.echo(f"would rewrite {result.display}")
        elif not quiet:
            click.echo(f"rewrote {result.display}")
    elif verbose:
        click.echo(f"unchanged {result.display}", err=True)
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format())
    if verbose:
        for note in result.notes:
            click.echo(f"note: {result.display}: {note}", err=True)


def _summary(mode: str, scanned: int, counts: Counter, rewrites: Counter, diagnostics: int) -> None:
    verb = "rewritten" if mode == "apply" else "would change"
    parts = [
        f"{scanned} file{'s' if scanned != 1 else ''} scanned",
        f"{counts[CHANGED]} {verb}",
        f"{counts['unchanged']} unchanged",
        f"{counts[FAILED]} failed",
    ]
    line = "asyncfix: " + ", ".join(parts)
    if rewrites:
        line += "; rewrites: " + ", ".join(f"{name} {n}" for name, n in sorted(rewrites.items()))
    line += f"; {diagnostics} diagnostic{'s' if diagnostics != 1 else ''}"
    click.echo(line, err=True)


def _run_stdin(settings: Settings, mode: str) -> int:
    """`-`: source from stdin, rewritten source to stdout, diagnostics to stderr. The project
    index is built from this one source."""
    stdout = sys.stdout.buffer
    source = sys.stdin.buffer.read()
    filename = os.path.join(os.getcwd(), "stdin.py")
    try:
        outcome = transform_standalone(source, "-", settings, filename)
    except (SourceError, InternalError) as error:
        click.echo(f"error: -: {error}", err=True)
        stdout.write(source)
        stdout.flush()
        return 2
    for diagnostic in outcome.diagnostics:
        click.echo(diagnostic.format(), err=True)
    if mode == "check":
        if outcome.new != source:
            click.echo("would rewrite -", err=True)
            return 1
        return 0
    stdout.write(outcome.new)
    stdout.flush()
    return 0
