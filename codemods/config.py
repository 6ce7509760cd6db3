"""``[tool.asyncfix]`` and ``[tool.black]`` from the target project's pyproject.toml."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Optional, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

# Keys of [tool.asyncfix] that mirror command-line options (the command line wins).
CLI_OPTIONS: Dict[str, type] = {
    "select": list,
    "ignore": list,
    "exclude": list,
    "format": bool,
    "jobs": int,
    "cache": bool,
    # --verify CMD / --verify-timeout SECONDS (verify.py): run CMD before and after --apply.
    "verify": str,
    "verify-timeout": int,
}
# Keys that configure codemods, with the type they must have; handed to every codemod as
# FileContext.options (dashes become underscores). Add a codemod's key here, next to a comment.
CODEMOD_OPTIONS: Dict[str, type] = {
    # Every codemod (resolve.py): more import roots, relative to the project root, for code run
    # with those directories on sys.path (besides the root itself, src/ and script folders).
    "roots": list,
    # demote_to_def / offload_to_thread (blocking.py): more blocking APIs, "pkg.mod.func",
    # "pkg.mod.Class.*" (every method) or "pkg.*" (everything under a module).
    "blocking": list,
    # cpu_to_executor: qualified names of functions to treat as CPU-bound ("pkg.module.func").
    "cpu-bound": list,
    # cpu_to_executor: "auto" (process pool for pure-Python work that pickles, default thread
    # pool otherwise), "thread" (always the default thread pool) or "process".
    "cpu-executor": str,
    # --migrate: the opt-in whole-app sync -> async migration (sync Session -> AsyncSession and
    # requests -> httpx in `def` routes, helpers, scripts and tests too), not only what blocks.
    "migrate": bool,
    # sqlalchemy_to_async: the async driver of engine URLs that come from settings (asyncfix
    # cannot see their scheme): a declaration is proof, `make_url(url).set(drivername=...)`.
    "async-driver": str,
}
# String keys of CODEMOD_OPTIONS that take one of a fixed set of values.
CODEMOD_CHOICES: Dict[str, Tuple[str, ...]] = {
    "cpu-executor": ("auto", "thread", "process"),
    "async-driver": (
        "sqlite+aiosqlite",
        "postgresql+asyncpg",
        "postgresql+psycopg",
        "mysql+aiomysql",
        "mysql+asyncmy",
    ),
}


class ConfigError(Exception):
    pass


def find_project_root(paths: Sequence[str]) -> str:
    """The nearest directory, from the paths' common parent upwards, that holds a
    pyproject.toml or a repository root (.git/.hg); the common parent itself if none does
    (module names are then counted from there)."""
    real = [os.path.abspath(p) for p in paths if p != "-"] or [os.getcwd()]
    start = os.path.commonpath(real)
    if not os.path.isdir(start):
        start = os.path.dirname(start)
    directory = start
    while True:
        if any(
            os.path.exists(os.path.join(directory, marker))
            for marker in ("pyproject.toml", ".git", ".hg")
        ):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return start
        directory = parent


def load_pyproject(root: str) -> Dict[str, Any]:
    path = os.path.join(root, "pyproject.toml")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error


def asyncfix_options(pyproject: Dict[str, Any], where: str = "pyproject.toml") -> Dict[str, Any]:
    """The validated ``[tool.asyncfix]`` table, keys normalised to snake_case."""
    known = {**CLI_OPTIONS, **CODEMOD_OPTIONS}
    table = pyproject.get("tool", {}).get("asyncfix", {})
    options: Dict[str, Any] = {}
    for key, value in table.items():
        expected = known.get(key) or known.get(key.replace("-", "_"))
        if expected is None:
            valid = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown key [tool.asyncfix] {key!r} (valid: {valid})")
        if expected is list and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(
                f"{where}: [tool.asyncfix] {key} must be a {expected.__name__}, got {value!r}"
            )
        choices = CODEMOD_CHOICES.get(key) or CODEMOD_CHOICES.get(key.replace("_", "-"))
        if choices and value not in choices:
            raise ConfigError(
                f"{where}: [tool.asyncfix] {key} must be one of {', '.join(choices)}, got {value!r}"
            )
        options[key.replace("-", "_")] = value
    return options


def black_options(pyproject: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    table = pyproject.get("tool", {}).get("black")
    if table is None:
        return None
    return {key.replace("-", "_"): value for key, value in table.items()}
