"""``--verify CMD``: keep a rewrite only if the project's own tests stay green.

The command runs twice: on the untouched tree (the baseline, before anything is written) and on
the rewritten tree. For pytest the results are compared per test id (from a JUnit XML file
asyncfix asks pytest to write); for any other command, by exit code. A test that passed before
and does not pass after (it fails, errors, is skipped or no longer runs) undoes the whole
rewrite: every written file gets back its original bytes, mode and modification time, through
the same atomic write as ``--apply``. Only what passed before counts: a test already failing in
the baseline is reported and ignored.

The command is split like a shell would (``shlex``) but run without one, with stdin closed, its
output captured (shown only on failure), in its own process group (a timeout kills everything it
started), in the project root: the directory holding the ``pyproject.toml`` (or ``.git``/``.hg``)
asyncfix found above the paths, else the current directory.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import click

from .codemods.files import FileChangedError, digest, write_atomic
from .probe_feedback import RuntimeBlocking, unknown_blocking
from .verify_runs import ERROR, FAILED, PASSED, PROBE_PLUGIN, Run, TestResult, run_command

DEFAULT_TIMEOUT = 600  # seconds, for each of the two runs
LISTED = 10  # tests listed by name in a message; the rest are counted


class VerifyError(Exception):
    """The command cannot be used at all (empty, unbalanced quotes): a usage error."""


def command_words(command: str) -> List[str]:
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise VerifyError(f"--verify {command!r}: {error}") from error
    if not words:
        raise VerifyError("--verify: the command is empty")
    return words


def is_pytest(words: List[str]) -> bool:
    """``pytest``, ``py.test``, ``python -m pytest``, ``uv run pytest``, ``.venv/bin/pytest``."""
    return any(os.path.basename(word) in ("pytest", "py.test") for word in words)


def working_directory(root: str) -> str:
    """Where the command runs: the project root asyncfix found (so ``[tool.asyncfix] verify``
    runs next to the pyproject.toml that names it, from wherever asyncfix is started); the
    current directory when no project marker was found above the paths."""
    if any(
        os.path.exists(os.path.join(root, marker)) for marker in ("pyproject.toml", ".git", ".hg")
    ):
        return root
    return os.getcwd()


@dataclass
class _Written:
    path: str
    display: str
    original: bytes
    mode: int
    mtime_ns: Tuple[int, int]  # (atime_ns, mtime_ns)
    new_digest: bytes


@dataclass
class Verifier:
    """One ``--verify`` run: :meth:`baseline` before anything is written, :meth:`write` for
    every write, :meth:`finish` at the end (runs the command again, keeps or undoes)."""

    command: str
    root: str
    timeout: float = DEFAULT_TIMEOUT
    quiet: bool = False
    words: List[str] = field(init=False)
    pytest: bool = field(init=False)
    cwd: str = field(init=False)
    before: Optional[Run] = None
    written: List[_Written] = field(default_factory=list)
    current: Optional[Run] = None  # the run that describes the tree as it stands now
    round: int = 1  # 2: the round fed with what the probe saw (probe_feedback.py)

    def __post_init__(self) -> None:
        self.words = command_words(self.command)
        self.pytest = is_pytest(self.words)
        self.cwd = working_directory(self.root)
        self.probe = self.pytest

    def _say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)

    def _run(self) -> Run:
        return run_command(self.words, self.cwd, self.timeout, self.pytest, self.probe)

    # -- before ------------------------------------------------------------------------------

    def baseline(self) -> bool:
        """Run the command on the untouched tree. False (after saying why, with the command's
        output) when it cannot serve as a baseline: it did not start, timed out, or pytest
        wrote no report. Then nothing may be written."""
        self._say(
            f"verify: running `{self.command}` on the untouched tree (baseline) in {self.cwd}"
        )
        run = self._run()
        if self.pytest and self.probe and run.tests is None and not run.timed_out and not run.error:
            if PROBE_PLUGIN in run.output or "asyncfix-probe" in run.output:
                # the command's Python cannot load the probe (another environment): go without
                self.probe = False
                run = self._run()
        if run.error or run.timed_out or (self.pytest and run.tests is None):
            self._show_output(run)
            click.echo(
                f"error: verify: the baseline `{self.command}` {run.why_no_results()}; "
                "nothing was written",
                err=True,
            )
            return False
        self.before = run
        if self.pytest:
            tests = run.tests or {}
            failing = {t: r for t, r in tests.items() if r.status in (FAILED, ERROR)}
            passed = len(run.passed)
            self._say(
                f"verify: baseline: {_count(passed, 'test')} passed, {len(failing)} failing ({run.seconds:.1f} s)"
            )
            if failing:
                click.echo(
                    f"verify: the baseline already fails: {_count(len(failing), 'test')}; "
                    f"only the {passed} that pass count",
                    err=True,
                )
                self._list(failing)
        elif run.returncode != 0:
            click.echo(
                f"verify: the baseline already fails: `{self.command}` exited {run.returncode}; "
                "nothing passed before to compare against, so the rewrite is not verified",
                err=True,
            )
        else:
            self._say(f"verify: baseline: `{self.command}` exited 0 ({run.seconds:.1f} s)")
        return True

    # -- during ------------------------------------------------------------------------------

    def write(self, path: str, data: bytes, expected_digest: bytes) -> None:
        """:func:`write_atomic`, remembering what the file was (bytes, mode, times) first."""
        with open(path, "rb") as handle:
            original = handle.read()
        info = os.stat(path)
        write_atomic(path, data, expected_digest)
        if digest(original) == expected_digest:
            self.written.append(
                _Written(
                    path,
                    _display(path),
                    original,
                    info.st_mode & 0o7777,
                    (info.st_atime_ns, info.st_mtime_ns),
                    digest(data),
                )
            )

    def forget(self, path: str) -> None:
        """A write :meth:`write` recorded was undone by the writer (a group that failed,
        writer.write_group): the file holds its original again, nothing to restore."""
        self.written[:] = [item for item in self.written if item.path != path]

    # -- after -------------------------------------------------------------------------------

    def finish(self) -> int:
        """Run the command on the rewritten tree; keep the rewrite (0) or restore every written
        file (2). Interrupted (Ctrl-C, SIGTERM): restore, then let the interruption go on."""
        if self.before is None:
            return 2
        self.current = self.before
        if not self.written:
            self._say(f"verify: {self._round()}nothing was written; nothing to verify")
            return 0
        self._say(f"verify: {self._round()}running `{self.command}` on the rewritten tree")
        try:
            after = self._run()
        except BaseException:
            self.interrupted()
            raise
        before = self.before
        if self.pytest:
            broken = self._broken(before, after)
            if broken:
                self._show_output(after)
                click.echo(
                    f"verify: {self._round()}{_count(len(broken), 'test')} passed before the "
                    "rewrite and not after it:",
                    err=True,
                )
                self._list(broken)
                return self._roll_back()
            kept = len(before.passed)
            line = f"verified: {kept} passed before and after"
            if not kept:
                line = "not verified: no test passed before the rewrite"
            already = sum(r.status in (FAILED, ERROR) for r in (before.tests or {}).values())
            if already:
                line += f" ({already} failing before, not counted"
                fixed = [t for t in after.passed if t not in set(before.passed)]
                line += f"; {len(fixed)} of them pass now)" if fixed else ")"
        else:
            if before.returncode == 0 and after.returncode != 0:
                self._show_output(after)
                now = (
                    f"exited {after.returncode}"
                    if after.returncode is not None
                    else after.why_no_results()
                )
                click.echo(
                    f"verify: `{self.command}` exited 0 before the rewrite; on the rewritten tree it {now}",
                    err=True,
                )
                return self._roll_back()
            if before.returncode == 0:
                line = f"verified: `{self.command}` exited 0 before and after"
            else:
                line = (
                    f"not verified: `{self.command}` exited {before.returncode} before the rewrite "
                    f"and {after.returncode} after it"
                )
        line += f"; {_count(len(self.written), 'file')} kept"
        loop = _loop_line(before.probe, after.probe)
        if loop:
            line += f"; {loop}"
        if self.round > 1:
            line = line.replace(
                "passed before and after", f"passed before and after round {self.round}"
            )
            line = line.replace(
                "exited 0 before and after", f"exited 0 before and after round {self.round}"
            )
        self._say(line)
        self.current = after
        return 0

    def _round(self) -> str:
        return f"round {self.round}: " if self.round > 1 else ""

    # -- what the probe saw ------------------------------------------------------------------

    def unknown_blocking(self, options: Mapping[str, Any]) -> List[RuntimeBlocking]:
        """The blocking the loop probe saw on the tree as it stands (the rewritten tree, or the
        baseline when nothing was written) that the static analysis does not know about."""
        probe = self.current.probe if self.current else None
        rootdir = probe.get("rootdir") if isinstance(probe, dict) else None
        return unknown_blocking(probe, options, rootdir if isinstance(rootdir, str) else self.cwd)

    def next_round(self) -> None:
        """Round 1 is verified and kept: round 2 is compared against the tree it left, and a
        roll-back of round 2 restores that tree."""
        self.before = self.current
        self.written = []
        self.round += 1

    def interrupted(self) -> None:
        """Ctrl-C or SIGTERM before the rewrite was verified: nothing unverified stays."""
        if self.written:
            click.echo("verify: interrupted before the rewrite was verified; restoring", err=True)
            self._roll_back()

    def _broken(self, before: Run, after: Run) -> Dict[str, TestResult]:
        """Tests that passed in the baseline and did not pass after the rewrite."""
        if after.tests is None:
            reason = f"`{self.command}` {after.why_no_results()}"
            return {test: TestResult(ERROR, reason) for test in before.passed}
        broken = {}
        for test in before.passed:
            result = after.tests.get(test)
            if result is None:
                broken[test] = TestResult(
                    ERROR, "did not run after the rewrite" + _collection_error(after.tests)
                )
            elif result.status != PASSED:
                broken[test] = result
        return broken

    def _roll_back(self) -> int:
        restored, refused = self.restore()
        click.echo(
            f"verify: rolled back: {_count(restored, 'file')} restored byte for byte"
            + (f", {_count(len(refused), 'file')} not restored (see above)" if refused else ""),
            err=True,
        )
        return 2

    def restore(self) -> Tuple[int, List[str]]:
        """Put back every written file, newest write first. A file that no longer holds what
        asyncfix wrote was changed by someone else meanwhile: it is left as it is, reported."""
        restored, refused = 0, []
        for item in reversed(self.written):
            try:
                write_atomic(item.path, item.original, item.new_digest)
                os.chmod(item.path, item.mode)
                os.utime(item.path, ns=item.mtime_ns)
                restored += 1
            except FileChangedError:
                refused.append(item.display)
                click.echo(
                    f"error: verify: {item.display}: changed on disk since asyncfix wrote it; "
                    "not restored (your edit is kept, and asyncfix's rewrite in it too)",
                    err=True,
                )
            except OSError as error:
                refused.append(item.display)
                click.echo(
                    f"error: verify: {item.display}: cannot restore: {error.strerror}", err=True
                )
        self.written.clear()
        return restored, refused

    # -- messages ----------------------------------------------------------------------------

    def _list(self, tests: Dict[str, TestResult]) -> None:
        for test, result in list(tests.items())[:LISTED]:
            click.echo(f"  {test}: {result.message or result.status}", err=True)
        if len(tests) > LISTED:
            click.echo(f"  ... and {len(tests) - LISTED} more", err=True)

    def _show_output(self, run: Run) -> None:
        if run.output.strip():
            click.echo(f"---- output of `{self.command}` ----", err=True)
            click.echo(run.output.rstrip("\n"), err=True)
            click.echo("----", err=True)


def _collection_error(tests: Dict[str, TestResult]) -> str:
    """A collection error of the run (the usual reason a test no longer runs), as ': ...'."""
    for test, result in tests.items():
        if result.status == ERROR and "::" not in test:
            return f" ({test}: {result.message})"
    return ""


def _display(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _loop_line(before: Optional[dict], after: Optional[dict]) -> str:
    """``loop blocked 14 times, worst 212 ms -> 0`` from the probe's JSON of both runs."""
    if not isinstance(before, dict) and not isinstance(after, dict):
        return ""  # the probe did not run (not pytest, or a pytest that cannot load it)
    if not isinstance(before, dict) or not isinstance(after, dict):
        missing = "the baseline" if not isinstance(before, dict) else "the second run"
        return f"loop: no probe report from {missing}"

    def describe(data: dict) -> str:
        count = int(data.get("count") or 0)
        if not count:
            return "0"
        return f"{_count(count, 'time')}, worst {float(data.get('worst_ms') or 0):.0f} ms"

    try:
        return f"loop blocked {describe(before)} -> {describe(after)}"
    except (TypeError, ValueError):
        return ""
