"""The libcst part of the rewrite of one file (rewrite.py decides whether a file gets here):
parse it once, run the wanted codemods in registry order on that one tree, print it. Importing
this module imports libcst and every codemod, which a run whose files need no rewrite never
does."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import libcst as cst
from libcst.codemod import CodemodContext

from .await_towers import SplitAwaitTowers
from .base import ParenthesizeAwaits
from .first_pass import FileContext
from .registry import BY_NAME
from .results import InternalError, SourceError
from .scan import python_syntax_error


def parse(source: bytes) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        reason = python_syntax_error(source)
        if reason is None:
            reason = f"syntax error at line {error.raw_line}, column {error.raw_column + 1}"
        raise SourceError(reason) from None
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        raise SourceError(f"cannot decode the file: {error}") from None


def apply(
    module: cst.Module,
    names: Sequence[str],
    file: FileContext,
    black_mode: Optional[Callable[[], Optional[object]]] = None,
) -> str:
    """The text of ``module`` once the codemods ``names`` (in that order) ran on it; when black
    formats the result (``black_mode`` gives its mode), a new ``(await x).m()`` that black
    would split is made two statements (await_towers.py)."""
    tree = module
    for name in names:
        codemod = BY_NAME[name]
        file.shifted = bool(file.rewrites)
        try:
            tree = codemod(CodemodContext(filename=file.path), file).transform_module(tree)
        except Exception as error:
            raise InternalError(f"codemod {codemod.NAME} raised {type(error).__name__}: {error}")
    if black_mode is not None:
        tree = tree.visit(SplitAwaitTowers(black_mode))
    return tree.visit(ParenthesizeAwaits()).code
