"""One pass of the engine over the files, for the ``asyncfix`` command (cli.py): each
file's result shown (text, or the ``--interactive`` review), written through the verifier's
hook; and the ``-`` (stdin) mode.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Optional

import click

# As in cli.py: the engine (libcst, every codemod) is imported only when a run computes something.
from .codemods.results import CHANGED, FAILED, FileResult, InternalError, Settings, SourceError
from .codemods.writer import write_group, write_result
from .output import colour_diff, render_text
from .verify import Verifier


class Show:
    """How each file's result is shown: the mode, the format, and the interactive review."""

    def __init__(
        self,
        mode: str,
        output_format: str,
        color: bool,
        quiet: bool,
        verbose: bool,
        review: Optional["Review"],
    ) -> None:
        self.mode, self.output_format, self.color = mode, output_format, color
        self.quiet, self.verbose, self.review = quiet, verbose, review

    def decide(self, result: FileResult, skipped: List[str]) -> bool:
        """Render ``result``; True if it is to be written (asking, in the interactive mode)."""
        write = result.status == CHANGED and self.mode == "apply"
        review = self.review
        if review is not None and result.status == CHANGED:
            write = review.ask(result)
            if not write:
                skipped.append(result.display)
        self.render(result, write)
        return write

    def decide_group(self, members: List[FileResult], skipped: List[str]) -> bool:
        """True if a group (groups.py) is to be written: the mode, or one answer for all of
        it in the interactive mode. Rendered once written (:meth:`render`)."""
        if self.mode != "apply":
            return False
        if self.review is None:
            return True
        write = self.review.ask_group(members)
        if not write:
            skipped.extend(member.display for member in members)
        return write

    def render(self, result: FileResult, write: bool) -> None:
        review = self.review
        if self.output_format == "text" and (write or result.status != CHANGED or review is None):
            render_text(result, self.mode, self.color, self.quiet, self.verbose)
        elif self.output_format == "text":
            for diagnostic in result.diagnostics:
                click.echo(diagnostic.format())
        elif result.status == FAILED:
            click.echo(f"error: {result.display}: {result.error}", err=True)


def rewrite_pass(
    files: list,
    settings: Settings,
    workers: int,
    show: Show,
    verifier: Optional[Verifier],
    out: List[FileResult],
    skipped: List[str],
    kept: Optional[List[FileResult]] = None,
    key: Optional[str] = None,
) -> None:
    """Run the engine over ``files`` (or take ``kept``, the cached results of this very run);
    render each result, write what is to be written (through the verifier's hook, so
    ``--verify`` can undo it), and add the results to ``out``. ``key``: this run's key in the
    whole-run cache, when the caller computed it."""
    if kept is not None:
        results = iter(kept)
    else:
        from .codemods.engine import run

        results = run(files, settings, workers, key)
    review = show.review
    show_bar = sys.stderr.isatty() and not show.quiet and review is None and len(files) > 1
    bar = (
        click.progressbar(length=len(files), file=sys.stderr, label="asyncfix")
        if show_bar
        else None
    )
    hook = verifier.write if verifier else None
    # A group (groups.py) is decided and written once its last member arrives, all or none.
    waiting: Dict[tuple, List[FileResult]] = {}
    try:
        for result in results:
            if bar is not None:
                bar.update(1)
            if result.group and result.status == CHANGED:
                members = waiting.setdefault(result.group, [])
                members.append(result)
                if len(members) < len(result.group):
                    continue
                del waiting[result.group]
                write = show.decide_group(members, skipped)
                if write:
                    write_group(members, hook, verifier.forget if verifier else None)
                for member in members:
                    show.render(member, write)
                    out.append(member)
            else:
                if show.decide(result, skipped) and not write_result(result, hook):
                    click.echo(f"error: {result.display}: {result.error}", err=True)
                out.append(result)
            if review is not None and review.quit:
                break
        quit_ = review is not None and review.quit  # then, as for later files: not processed
        for members in [] if quit_ else waiting.values():  # a group is all CHANGED or FAILED:
            for member in members:  # only an incomplete input of results leaves one here
                member.status, member.error = FAILED, "not written: its group is incomplete"
                show.render(member, False)
                out.append(member)
    except BaseException:
        if verifier is not None:  # Ctrl-C / SIGTERM: nothing unverified stays written
            verifier.interrupted()
        raise
    finally:
        if bar is not None:
            bar.finish()
            click.echo(err=True)
        getattr(results, "close", lambda: None)()


class Review:
    """``--interactive``: each change's diff, then a question, like ``git add -p``. Answers
    come from stdin, so piped input works; the end of the input means quit."""

    CHOICES = ("y", "n", "a", "q")

    def __init__(self, color: bool) -> None:
        self.color = color
        self.all = False
        self.quit = False

    def ask(self, result: FileResult) -> bool:
        return self._ask([result], f"Apply this change to {result.display}? [y]es, [n]o (skip)")

    def ask_group(self, members: List[FileResult]) -> bool:
        """One question for rewrites written all together or not at all (groups.py)."""
        names = ", ".join(member.display for member in members)
        return self._ask(
            members,
            f"Apply these changes to {names} (each is correct only with the others)? "
            "[y]es, [n]o (skip them)",
        )

    def _ask(self, results: List[FileResult], question: str) -> bool:
        """Every diff of ``results``, then ``question`` (its first choices) once."""
        if self.all:
            return True
        for result in results:
            click.echo(
                colour_diff(result.diff) if self.color else result.diff, nl=False, color=self.color
            )
        try:
            answer = click.prompt(
                f"{question}, [a]ll remaining, [q]uit",
                type=click.Choice(self.CHOICES, case_sensitive=False),
                show_choices=False,
            )
        except click.Abort:
            click.echo()
            answer = "q"
        return self._answer(answer)

    def _answer(self, answer: str) -> bool:
        answer = answer.lower()
        if answer == "a":
            self.all = True
        elif answer == "q":
            self.quit = True
        return answer in ("y", "a")


def run_stdin(settings: Settings, mode: str) -> int:
    """`-`: source from stdin, rewritten source to stdout, diagnostics to stderr. The project
    index is built from this one source."""
    stdout = sys.stdout.buffer
    source = sys.stdin.buffer.read()
    filename = os.path.join(os.getcwd(), "stdin.py")
    from .codemods.engine import transform_standalone

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
