"""Engine URLs built in code: the driver is proven where the URL is built, in another module.

The most copied FastAPI app shape (fastapi/full-stack-fastapi-template) makes its engine from
``create_engine(str(settings.SQLALCHEMY_DATABASE_URI))``, where ``settings = Settings()`` and the
attribute is a property returning ``PostgresDsn.build(scheme="postgresql+psycopg", ...)``. The
scheme is a literal in code no environment variable overrides (a property is computed, not a
field read from the environment), so it is proof of the driver, as a literal URL is:

- the first pass records, per module, ``instance.attribute -> scheme`` for module-level instances
  of a class of that module whose property returns a URL with a literal scheme
  (:func:`schemes`: ``X.build(scheme="...")``, a string or f-string starting ``scheme://``), and,
  on each engine whose URL it cannot read, the dotted name the URL reads (:func:`reference`);
- combine resolves that name through the importing module's imports (:func:`scheme_of`); a scheme
  with an async driver clears the engine's SQLA003, and the transform keeps the URL expression
  when the driver is already async (``postgresql+psycopg`` serves both) or sets the async driver
  with ``make_url(...).set(drivername=...)`` where the engine is made.

A field with a default (``DATABASE_URL: str = "sqlite://..."``) is not proof: the environment
may name another database. It keeps SQLA003.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .astwalk import dotted_text
from .sqla_facts import _map_scheme


def settings_url(source: bytes) -> bool:
    """The cheap test of whether a module may build a URL in a property (the first pass's gate)."""
    return (b"scheme=" in source or b"://" in source) and b"property" in source


def reference(url: Optional[ast.AST]) -> str:
    """The dotted name an engine URL reads: ``str(a.b)``, ``a.b``, ``f"{a.b}"``; "" otherwise."""
    if isinstance(url, ast.Call) and dotted_text(url.func) == "str" and len(url.args) == 1:
        url = url.args[0]
    if isinstance(url, ast.JoinedStr) and len(url.values) == 1:
        value = url.values[0]
        if (
            isinstance(value, ast.FormattedValue)
            and value.conversion == -1
            and not value.format_spec
        ):
            url = value.value
    name = dotted_text(url) if isinstance(url, ast.Attribute) else ""
    return name


def _literal_scheme(node: Optional[ast.AST]) -> str:
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if (
                keyword.arg == "scheme"
                and isinstance(keyword.value, ast.Constant)
                and isinstance(keyword.value.value, str)
            ):
                return keyword.value.value
        return ""
    text = ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
    scheme, sep, _ = text.partition("://")
    return scheme if sep and scheme else ""


def _property_schemes(cls: ast.ClassDef) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for statement in cls.body:
        if not isinstance(statement, ast.FunctionDef) or not any(
            dotted_text(d).rpartition(".")[2] == "property" for d in statement.decorator_list
        ):
            continue
        returns = [s for s in statement.body if isinstance(s, ast.Return)]
        if len(returns) == 1 and statement.body[-1] is returns[0]:
            scheme = _literal_scheme(returns[0].value)
            if scheme:
                found[statement.name] = scheme
    return found


def schemes(tree: ast.Module) -> Tuple[Tuple[str, str], ...]:
    """("instance.attribute", scheme) for this module's instances whose property fixes a URL."""
    classes = {s.name: _property_schemes(s) for s in tree.body if isinstance(s, ast.ClassDef)}
    out: List[Tuple[str, str]] = []
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and classes.get(statement.value.func.id)
        ):
            continue
        name = statement.targets[0].id
        for attribute, scheme in sorted(classes[statement.value.func.id].items()):
            out.append((f"{name}.{attribute}", scheme))
    return tuple(out)


def scheme_of(resolver: Any, facts: Mapping[str, Any], path: str, ref: str) -> str:
    """The literal scheme behind ``ref`` read in ``path`` (resolved through its imports)."""

    def known(where: Optional[str], dotted: str) -> str:
        if where is None:
            return ""
        return dict(getattr(facts.get(where), "url_schemes", ())).get(dotted, "")

    local = known(path, ref)
    if local:
        return local
    head, _, rest = ref.partition(".")
    origin = resolver.imports.get(path, {}).get(head)
    if origin is None or not rest:
        return ""
    level, module, attribute = origin
    if not attribute:  # `import app.config as config`: config.settings.X
        return known(resolver.module(path, level, module), rest)
    found = known(resolver.module(path, level, module), f"{attribute}.{rest}")
    if found:
        return found
    submodule = resolver.module(path, level, f"{module}.{attribute}" if module else attribute)
    return known(submodule, rest)


def async_scheme(scheme: str) -> Tuple[Optional[str], Optional[str]]:
    """(the async scheme, its driver package) for a literal scheme; (None, None) if unknown."""
    mapped, package = _map_scheme(scheme + "://")
    return (mapped.partition("://")[0] if mapped else None), package
