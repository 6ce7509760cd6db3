"""Which file a module name means: Python's import rules, in one place.

Every codemod and the first pass ask this module what a file is imported as
(:func:`module_names`) and what a relative import refers to (:func:`absolute`,
:func:`resolve_relative`); nothing else reads the file system to name modules.

The rules are Python's, for the directories Python would put on ``sys.path`` for the project
(the *import roots*):

- the project root (where ``pyproject.toml`` / ``.git`` is), its ``src/``, and the directories
  configured in ``[tool.asyncfix] roots`` (relative to the project root): *primary* roots;
- the directory of a module that is not inside a package (a script run directly, or a flat
  FastAPI app run from its own folder: ``from database import get_db``);
- the directory holding the top package of an ``__init__.py`` chain, so a package is found
  wherever it stands, and directories without ``__init__.py`` between a root and a package act as
  namespace packages.

A module inside a regular package is only ever its package's dotted name: ``anyio/functools.py``
is ``anyio.functools``, never ``functools``. A name whose first part is a standard-library module
or a known third-party distribution resolves into the project only when the project has that
top-level module or package itself, on a primary root: a ``utils/functools.py`` or a script
folder's ``requests.py`` does not shadow them; a ``functools.py`` at the project root does, as
it would for ``python`` run there. Anything else stays unresolved ("unknown"), and callers
treat unknown as unknown: never a coroutine, a blocking call or a heavy function.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

# Top-level names of the libraries asyncfix's own tables know, as a user's project imports them.
# The running interpreter may not have them installed (asyncfix usually runs from its own venv),
# yet a script folder's `requests.py` must not be taken for `requests`.
KNOWN_THIRD_PARTY = frozenset(
    {
        "aiohttp",
        "aiomysql",
        "aiosqlite",
        "alembic",
        "anyio",
        "asyncpg",
        "bcrypt",
        "boto3",
        "botocore",
        "celery",
        "click",
        "django",
        "fastapi",
        "flask",
        "h11",
        "h5py",
        "httpcore",
        "httpx",
        "idna",
        "jose",
        "jwt",
        "matplotlib",
        "motor",
        "numpy",
        "pandas",
        "passlib",
        "PIL",
        "psycopg",
        "psycopg2",
        "pydantic",
        "pydantic_core",
        "pymongo",
        "pymysql",
        "redis",
        "requests",
        "sniffio",
        "sqlalchemy",
        "sqlmodel",
        "starlette",
        "typer",
        "urllib3",
        "uvicorn",
    }
)

# sys.stdlib_module_names exists from 3.10; 3.9 gets the names a project is likely to shadow.
_STDLIB: FrozenSet[str] = frozenset(
    getattr(sys, "stdlib_module_names", ())
    or {
        "abc",
        "argparse",
        "array",
        "ast",
        "asyncio",
        "base64",
        "bisect",
        "builtins",
        "calendar",
        "collections",
        "concurrent",
        "contextlib",
        "contextvars",
        "copy",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "email",
        "enum",
        "errno",
        "fractions",
        "ftplib",
        "functools",
        "gc",
        "glob",
        "gzip",
        "hashlib",
        "heapq",
        "hmac",
        "html",
        "http",
        "importlib",
        "inspect",
        "io",
        "ipaddress",
        "itertools",
        "json",
        "logging",
        "math",
        "mimetypes",
        "multiprocessing",
        "numbers",
        "operator",
        "os",
        "pathlib",
        "pickle",
        "platform",
        "pprint",
        "queue",
        "random",
        "re",
        "secrets",
        "select",
        "selectors",
        "shlex",
        "shutil",
        "signal",
        "smtplib",
        "socket",
        "sqlite3",
        "ssl",
        "stat",
        "statistics",
        "string",
        "struct",
        "subprocess",
        "sys",
        "tarfile",
        "tempfile",
        "test",
        "textwrap",
        "threading",
        "time",
        "timeit",
        "token",
        "tokenize",
        "traceback",
        "types",
        "typing",
        "unittest",
        "urllib",
        "uuid",
        "warnings",
        "weakref",
        "xml",
        "zipfile",
        "zlib",
        "zoneinfo",
    }
)


@lru_cache(maxsize=None)
def _installed() -> FrozenSet[str]:
    """Top-level names of the distributions installed for the running interpreter."""
    try:
        from importlib.metadata import packages_distributions

        return frozenset(packages_distributions())
    except Exception:  # 3.9 has no packages_distributions; broken metadata is not our concern
        return frozenset()


def external(top: str) -> bool:
    """Whether a top-level module name belongs to the standard library or a known library."""
    return top in _STDLIB or top in KNOWN_THIRD_PARTY or top in _installed()


# project root -> its configured roots ([tool.asyncfix] roots), set once per process from the
# run's settings (engine: the main process and every worker), read wherever a module is named.
_CONFIGURED: Dict[str, Tuple[str, ...]] = {}


def configure(root: str, configured: Sequence[str]) -> None:
    """Record the ``[tool.asyncfix] roots`` of the project at ``root`` for this process."""
    root = os.path.abspath(root)
    extra = tuple(os.path.normpath(os.path.join(root, r)) for r in configured)
    if _CONFIGURED.get(root, ()) != extra:
        _CONFIGURED[root] = extra
        _module_names.cache_clear()


def import_roots(root: str) -> Tuple[str, ...]:
    """The primary import roots: the project root, its ``src/``, and the configured ones."""
    root = os.path.abspath(root)
    roots = [root]
    if os.path.isdir(os.path.join(root, "src")):
        roots.append(os.path.join(root, "src"))
    roots.extend(_CONFIGURED.get(root, ()))
    return tuple(dict.fromkeys(roots))


@lru_cache(maxsize=None)
def _package_chain(directory: str) -> Tuple[str, Tuple[str, ...]]:
    """(the directory holding the top package, the package's segments) for ``directory``;
    ``(directory, ())`` when it is no regular package."""
    if not os.path.exists(os.path.join(directory, "__init__.py")):
        return directory, ()
    parent = os.path.dirname(directory)
    if parent == directory:
        return directory, ()
    container, segments = _package_chain(parent)
    return container, (*segments, os.path.basename(directory))


def _regular_top(base: str, top: str) -> bool:
    """Whether ``base`` holds a module or regular package named ``top``."""
    return os.path.isfile(os.path.join(base, f"{top}.py")) or os.path.isfile(
        os.path.join(base, top, "__init__.py")
    )


@lru_cache(maxsize=None)
def _module_names(path: str, roots: Tuple[str, ...]) -> Tuple[str, ...]:
    stem = os.path.splitext(path)[0]
    is_init = os.path.basename(stem) == "__init__"
    container, package = _package_chain(os.path.dirname(path))
    own = () if is_init else (os.path.basename(stem),)
    names: List[str] = []

    def add(base: str, segments: Sequence[str]) -> None:
        if not segments or not all(s.isidentifier() for s in segments):
            return
        if external(segments[0]) and not (base in roots and _regular_top(base, segments[0])):
            return  # a library name, and the project does not really shadow it
        name = ".".join(segments)
        if name not in names:
            names.append(name)

    # From the directory holding the top package (or the script's own directory).
    add(container, (*package, *own))
    # From each primary root above it, through directories without __init__.py (namespace
    # packages; a regular package in between would have been part of the chain).
    for root in roots:
        relative = os.path.relpath(container, root)
        if relative == "." or relative.startswith(".."):
            continue
        parts = relative.split(os.sep)
        add(root, (*parts, *package, *own))
    return tuple(names)


def module_names(path: str, root: str) -> List[str]:
    """The dotted names a file can be imported as, most specific (its package's name) first.

    ``app/api/routes.py`` in package ``app`` is ``app.api.routes``; with no ``__init__.py`` in
    ``app/api`` it is ``routes`` (a script folder) and ``app.api.routes`` from the project root
    (namespace packages). Package ``__init__.py`` files are named for their package. Empty when
    nothing can import the file by a name (``app.v2.py``, a library name it may not shadow).
    """
    return list(_module_names(os.path.abspath(path), import_roots(root)))


def package_of(path: str, root: str) -> Optional[str]:
    """The package a module's relative imports start from ("" for a top-level module), or
    None when the file has no importable name."""
    names = module_names(path, root)
    if not names:
        return None
    if os.path.basename(path) == "__init__.py":
        return names[0]
    return names[0].rpartition(".")[0]


def absolute(package: str, level: int, module: str) -> Optional[str]:
    """The absolute name of ``from <level dots><module> import ...`` in ``package``; None when
    the dots climb above the top package (Python's "attempted relative import beyond top-level
    package")."""
    if not level:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, *([module] if module else [])]) or None


def resolve_relative(name: str, path: str, root: str) -> Optional[str]:
    """``..pkg.mod.f`` (a relative import spelled with its dots) from the file at ``path``."""
    level = len(name) - len(name.lstrip("."))
    package = package_of(path, root)
    if package is None:
        return None
    return absolute(package, level, name[level:])
