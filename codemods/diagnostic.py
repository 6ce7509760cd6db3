"""A diagnostic: what a codemod saw and left for a human. Its own module, free of libcst: the
results a run keeps in the cache hold diagnostics, and reading them back must not import it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """Something a codemod saw and deliberately did not rewrite (flake8/ruff shape)."""

    path: str
    line: int
    column: int  # 1-based, like ruff and flake8
    code: str
    message: str
    hint: str
    codemod: str

    def format(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text
