"""The first pass of dependency_close: which functions are dependencies, which classes close.

The tables of resources and how each is released, then per file (ast only) the names used
as dependencies, the module-level classes and session factories, and their combination
across the project (imports, aliases, re-exports resolved by Python's rules). Which functions
the codemod can act on at all (its yield sites) is dependency_yields.py.
"""

from __future__ import annotations

import ast
import builtins
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .astwalk import dotted_name, walk
from .bindings import module_bindings
from .program_facts import ModuleFacts, import_paths
from .resolve import absolute, module_names

LEAK = "DEP001"
SWALLOW = "DEP002"

# The callables whose result is a resource, and how it is released: (method, awaited).
KNOWN_RELEASES: Mapping[str, Tuple[str, bool]] = {
    **dict.fromkeys(
        (
            "sqlalchemy.orm.Session",
            "sqlalchemy.orm.session.Session",
            "sqlmodel.Session",
            "sqlmodel.orm.session.Session",
            "httpx.Client",
            "requests.Session",
            "requests.session",
            "requests.sessions.Session",
            "sqlite3.connect",
            "psycopg2.connect",
            "psycopg.connect",
            "pymysql.connect",
            "redis.Redis",
            "redis.StrictRedis",
            "redis.from_url",
            "redis.client.Redis",
            "pymongo.MongoClient",
            "builtins.open",
            "io.open",
            "socket.socket",
            "socket.create_connection",
        ),
        ("close", False),
    ),
    **dict.fromkeys(
        (
            "sqlalchemy.ext.asyncio.AsyncSession",
            "sqlalchemy.ext.asyncio.session.AsyncSession",
            "sqlmodel.ext.asyncio.session.AsyncSession",
            "aiohttp.ClientSession",
            # created with `await`: `conn = await asyncpg.connect(...)`
            "asyncpg.connect",
            "aiosqlite.connect",
        ),
        ("close", True),
    ),
    **dict.fromkeys(
        (
            "httpx.AsyncClient",
            "redis.asyncio.Redis",
            "redis.asyncio.StrictRedis",
            "redis.asyncio.from_url",
            "redis.asyncio.client.Redis",
        ),
        ("aclose", True),
    ),
}
# Session factories built at module level: `SessionLocal = sessionmaker(bind=engine)`.
SYNC_FACTORIES = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
ASYNC_FACTORIES = frozenset(
    {
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)
ASYNC_SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
RELEASE_METHODS = ("close", "aclose")
# Calls on the resource in `finally` that count as releasing it (asyncfix then leaves it alone).
FINALIZERS = frozenset(
    {*RELEASE_METHODS, "release", "dispose", "shutdown", "quit", "disconnect", "terminate"}
    | {"__exit__", "__aexit__"}
)
DEPENDS = ("Depends", "Security")
# Base classes (by top-level module) that give a class no close(): a project class deriving
# only from these, without its own close/aclose, is not a resource.
PLAIN_BASES = frozenset(
    {
        "object",
        "builtins",
        "typing",
        "typing_extensions",
        "enum",
        "abc",
        "pydantic",
        "pydantic_settings",
    }
)


# -- the first pass: which functions are dependencies, which classes close ---------------------


def _dotted(node: ast.expr) -> Optional[List[str]]:
    name = dotted_name(node)
    return name.split(".") if name else None


class FileNames:
    """The names of one file's module scope, as raw strings: ``a.b`` (absolute, from an
    import), ``.a.b`` (relative import, resolved in combine()), ``:name`` (this module)."""

    def __init__(self, tree: ast.Module, module: ModuleFacts) -> None:
        imports = import_paths(module.imported)
        # bound here otherwise than by an import, by Python's rules (bindings.py)
        self.local = module_bindings(tree, {}, with_imports=False)
        # A name imported twice differently, or also bound here, is not resolved.
        self.imports = {
            n: t.pop() for n, t in imports.items() if len(t) == 1 and n not in self.local
        }

    def raw(self, node: ast.expr) -> Optional[str]:
        parts = _dotted(node)
        if parts is None:
            return None
        head, rest = parts[0], parts[1:]
        if head in self.imports:
            return ".".join([self.imports[head], *rest])
        if head not in self.local and hasattr(builtins, head):
            return ".".join(["builtins", *parts])
        return ":" + ".".join(parts)


def _is_fastapi(raw: Optional[str], names: Sequence[str]) -> bool:
    return bool(raw) and raw.startswith("fastapi") and raw.rsplit(".", 1)[-1] in names


def _overrides(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "dependency_overrides"


def dependency_refs(tree: ast.Module, names: FileNames) -> List[str]:
    refs: List[str] = []

    def add(*nodes: Optional[ast.expr]) -> None:
        for node in nodes:
            raw = names.raw(node) if node is not None else None
            if raw is not None and raw not in refs:
                refs.append(raw)

    for node in walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if _is_fastapi(names.raw(func), DEPENDS):
                keyword = next((k.value for k in node.keywords if k.arg == "dependency"), None)
                add(node.args[0] if node.args else keyword)
            elif (  # monkeypatch.setitem(app.dependency_overrides, get_db, override)
                isinstance(func, ast.Attribute)
                and func.attr == "setitem"
                and len(node.args) == 3
                and _overrides(node.args[0])
            ):
                add(node.args[1], node.args[2])
            elif (  # app.dependency_overrides.update({get_db: override})
                isinstance(func, ast.Attribute)
                and func.attr == "update"
                and _overrides(func.value)
                and node.args
                and isinstance(node.args[0], ast.Dict)
            ):
                add(*node.args[0].keys, *node.args[0].values)
        elif isinstance(node, ast.Assign):
            for target in node.targets:  # app.dependency_overrides[get_db] = override
                if isinstance(target, ast.Subscript) and _overrides(target.value):
                    add(target.slice, node.value)
    return refs


def class_facts(tree: ast.Module, names: FileNames) -> Dict[str, Dict[str, Any]]:
    classes: Dict[str, Dict[str, Any]] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.ClassDef):
            continue
        methods = {
            item.name: "async" if isinstance(item, ast.AsyncFunctionDef) else "sync"
            for item in statement.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and item.name in RELEASE_METHODS
        }
        bases = [  # `Generic[T]` is `Generic`
            names.raw(base.value if isinstance(base, ast.Subscript) else base) or "?"
            for base in statement.bases
        ]
        classes[statement.name] = {"methods": methods, "bases": bases}
    return classes


def factory_facts(tree: ast.Module, names: FileNames) -> Dict[str, str]:
    factories: Dict[str, str] = {}
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
        ):
            continue
        callee = names.raw(statement.value.func)
        if callee in ASYNC_FACTORIES:
            kind = "async"
        elif callee in SYNC_FACTORIES:
            class_ = next((k.value for k in statement.value.keywords if k.arg == "class_"), None)
            kind = "sync"
            if class_ is not None:
                raw = names.raw(class_)
                kind = "async" if raw in ASYNC_SESSION_CLASSES else "?"
        else:
            continue
        factories[statement.targets[0].id] = kind
    return factories


def class_release(facts: Mapping[str, Any], name: str, is_async: bool, seen: Set[str]) -> Any:
    """(method, awaited) for an instance of the project class ``name``: the close/aclose it or a
    project base defines (the async one first in a coroutine); "?" when a base is unknown;
    None when it has none (not a resource)."""
    info = facts["classes"][name]
    methods = info["methods"]
    preferred = (("aclose", "async"), ("close", "async"), ("close", "sync"), ("aclose", "sync"))
    if not is_async:
        preferred = (
            ("close", "sync"),
            ("aclose", "sync"),
            ("close", "async"),
            ("aclose", "async"),
        )
    for method, kind in preferred:
        if methods.get(method) == kind:
            return (method, kind == "async")
    seen.add(name)
    for base in info["bases"]:
        if base in seen or base.split(".")[0] in PLAIN_BASES:
            continue
        if base in facts["classes"]:
            release = class_release(facts, base, is_async, seen)
            if release is not None:
                return release
        elif base in KNOWN_RELEASES:
            return KNOWN_RELEASES[base]
        else:
            return "?"
    return None


def modules_of(path: str, root: str) -> List[str]:
    """The names the file is imported as; a file that cannot be imported (``app.v2.py``) still
    gets a name of its own, so that its own ``Depends(f)`` names its own ``f``."""
    return module_names(path, root) or [f"<{os.path.abspath(path)}>"]


def absolute_names(raw: str, modules: Sequence[str], package: bool) -> List[str]:
    """The absolute names ``raw`` (see :class:`FileNames`) stands for in a file that can be
    imported as any of ``modules``."""
    if raw.startswith(":"):
        return [f"{module}.{raw[1:]}" for module in modules]
    if not raw.startswith("."):
        return [raw]
    level = len(raw) - len(raw.lstrip("."))
    rest = raw[level:]
    result = []
    for module in modules:
        name = absolute(module if package else module.rpartition(".")[0], level, rest)
        if name and name not in result:
            result.append(name)
    return result


def combine_facts(facts: Mapping[str, Any], root: str) -> Dict[str, Any]:
    dependencies: Set[str] = set()
    aliases: Dict[str, str] = {}
    classes: Dict[str, Dict[str, Any]] = {}
    factories: Dict[str, str] = {}
    for path, fact in facts.items():
        modules = modules_of(path, root)
        package = os.path.basename(path) == "__init__.py"

        def absolute(raw: str) -> List[str]:
            return absolute_names(raw, modules, package)

        for raw in fact["refs"]:
            dependencies.update(absolute(raw))
        for module in modules:
            for local, raw in fact["aliases"].items():
                targets = absolute(raw)
                if targets:
                    aliases[f"{module}.{local}"] = targets[0]
            for name, kind in fact["factories"].items():
                factories[f"{module}.{name}"] = kind
            for name, info in fact["classes"].items():
                bases = [absolute(base)[:1] or ["?"] for base in info["bases"]]
                classes[f"{module}.{name}"] = {
                    "methods": dict(info["methods"]),
                    "bases": [b[0] for b in bases],
                }
    # A dependency imported through a re-export (`from app.deps import get_db`, where
    # app/deps/__init__.py imports it) is also the function it re-exports.
    pending = list(dependencies)
    while pending:
        target = aliases.get(pending.pop())
        if target is not None and target not in dependencies:
            dependencies.add(target)
            pending.append(target)
    return {
        "dependencies": frozenset(dependencies),
        "aliases": aliases,
        "classes": classes,
        "factories": factories,
        # files the first pass judged with yield_sites, and what it found (wants())
        "yield_scanned": frozenset(path for path, fact in facts.items() if "site" in fact),
        "yield_sites": {path: fact["site"] for path, fact in facts.items() if fact.get("site")},
    }


def merge_facts(*parts: Mapping[str, Any]) -> Dict[str, Any]:
    merged: Dict[str, Any] = {
        "dependencies": frozenset(),
        "aliases": {},
        "classes": {},
        "factories": {},
    }
    for part in parts:
        if not part:
            continue
        merged["dependencies"] = merged["dependencies"] | part["dependencies"]
        for key in ("aliases", "classes", "factories"):
            merged[key] = {**merged[key], **part[key]}
    return merged
