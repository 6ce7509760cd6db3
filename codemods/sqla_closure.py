"""One decision for the whole program (combine): which shared object each use names, across
modules, and whether the conversion is complete or refused (SQLA008 with the blocking uses).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .names import ModuleFinder
from .sqla_commands import command_callers, command_engines
from .sqla_facts import (
    _SEEN_LIMIT,
    ALIAS,
    ASYNC_DRIVERS,
    ASYNC_ENGINE,
    CLOSURE,
    ENGINE,
    FACTORY,
    FROM_SETTINGS,
    STAYS_SYNC,
    SYNC_ON_ASYNC,
    URL,
    Combined,
    FileFacts,
    Shared,
    Site,
    Use,
    _is_test_module,
)
from .sqla_urls import async_scheme, scheme_of


class _Resolver:
    """Which shared object a use refers to, across the project's modules."""

    def __init__(self, facts: Mapping[str, FileFacts], root: str) -> None:
        self.facts = facts
        self.finder = ModuleFinder(facts, root)  # the await analysis's module lookup
        self.shared = {
            (path, s.name): s for path, fact in facts.items() for s in getattr(fact, "shared", ())
        }
        for path, fact in facts.items():  # Session aliases resolve like the shared objects
            for name, kind in getattr(fact, "aliases", ()):
                self.shared.setdefault(
                    (path, name), Shared(name, ALIAS, Site(0, 0, "", ""), bind=kind)
                )
        self.imports = {
            path: {i[0]: i[1:] for i in getattr(fact, "imports", ())}
            for path, fact in facts.items()
        }

    def module(self, importer: str, level: int, module: str) -> Optional[str]:
        name = self.finder.absolute(importer, level, module)
        return self.finder.module(name, importer) if name else None

    def resolve(self, path: str, ref: str, depth: int = 0) -> Tuple[Optional[Tuple[str, str]], str]:
        """(the shared object, the attribute path left over) that ``ref`` in ``path`` names."""
        head, _, rest = ref.partition(".")
        if (path, head) in self.shared:
            return (path, head), rest
        origin = self.imports.get(path, {}).get(head)
        if origin is None or depth > 8:
            return None, ""
        level, module, attribute = origin
        if attribute:
            target = self.module(path, level, module)
            if target is not None:
                found, left = self.resolve(target, attribute, depth + 1)
                if found is not None:
                    return found, ".".join(p for p in (left, rest) if p)
            submodule = self.module(path, level, f"{module}.{attribute}" if module else attribute)
            if submodule is not None and rest:
                return self.resolve_in(submodule, rest, depth + 1)
            return None, ""
        parts = [*module.split("."), *rest.split(".")] if rest else module.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = self.finder.module(".".join(parts[:cut]), path)
            if target is not None:
                return self.resolve_in(target, ".".join(parts[cut:]), depth + 1)
        return None, ""

    def resolve_in(
        self, path: str, dotted: str, depth: int
    ) -> Tuple[Optional[Tuple[str, str]], str]:
        head, _, rest = dotted.partition(".")
        if (path, head) in self.shared:
            return (path, head), rest
        found, left = self.resolve(path, head, depth)
        return (found, ".".join(p for p in (left, rest) if p)) if found is not None else (None, "")


def decide(
    facts: Mapping[str, Any],
    root: str,
    migrate: bool = False,
    stuck: Sequence[Tuple[str, Site]] = (),
    driver: str = "",
) -> Optional[Combined]:
    """One decision for the whole program: convert when a Session meets async code (with
    ``migrate``: when the program uses a sync Session at all) and every use of the engines,
    session factories and Session functions converts with it; otherwise convert nothing and
    say, on each engine, which uses kept it sync.

    ``stuck``: functions the conversion needs async that the await analysis keeps sync (found
    after this decision, over the whole program: SqlalchemyToAsync.analyse); each blocks it.

    Without ``migrate`` only what blocks the loop counts: a sync ``def`` route handed a sync
    Session by ``Depends`` runs in FastAPI's threadpool and is correct as it is."""
    if not facts:
        return None
    facts = declared_driver(facts, driver)  # `[tool.asyncfix] async-driver`
    resolver = _Resolver(facts, root)
    session_defs, aliases = _with_aliases(facts, resolver)
    meets = any(is_async for defs in session_defs.values() for _, is_async, _ in defs) or any(
        getattr(fact, "meets_async", False) for fact in facts.values()
    )
    if migrate:
        meets = (
            meets
            or any(session_defs.values())
            or any(shared.kind in (ENGINE, FACTORY) for shared in resolver.shared.values())
        )
    blockers: List[Tuple[str, Site]] = []
    reports: Dict[str, List[Site]] = {}
    opened: List[Tuple[str, str]] = []  # (path, qualname) of sync functions --migrate makes async
    disposals: Set[Tuple[str, int]] = set()
    if not migrate:
        blockers.extend(
            (path, site)
            for path, fact in facts.items()
            for site in getattr(fact, "fixture_blockers", ())
        )
    for path, fact in facts.items():
        blockers.extend((path, site) for site in getattr(fact, "blockers", ()))
        blockers.extend(
            (path, site)
            for ref, site in getattr(fact, "alias_blockers", ())
            if ref in aliases.get(path, {})
        )
        reports.setdefault(path, []).extend(getattr(fact, "residual", ()))
        for use in getattr(fact, "uses", ()):
            key, left = resolver.resolve(path, use.ref)
            if key is None:
                if use.sync_session and use.ref.partition(".")[0] in {
                    i[0] for i in getattr(fact, "imports", ())
                }:
                    # `Session(engine)` on an engine imported from a module asyncfix does not see:
                    # converting its users would hand them a sync Session typed AsyncSession
                    blockers.append(
                        (
                            path,
                            replace(
                                use.site, why=f"`{use.ref}` comes from a module asyncfix cannot see"
                            ),
                        )
                    )
                continue
            shared = resolver.shared[key]
            if (
                shared.kind == ALIAS
            ):  # `session: SessionDep`: the alias converts where it is defined
                continue
            if shared.kind == ASYNC_ENGINE:
                if use.sync_session and not left:
                    reports[path].append(
                        replace(
                            use.site,
                            code=SYNC_ON_ASYNC,
                            why=f"a sync Session on `{use.ref}`, an async engine",
                            hint="use AsyncSession(engine) / async_sessionmaker(engine), and await its calls",
                        )
                    )
                continue
            if left:
                blockers.append((path, replace(use.site, code=CLOSURE, why=f"`{use.ref}` is used")))
            elif not use.ok and migrate and use.seed == "<hook>":
                disposals.add((path, use.site.line))
            elif not use.ok and migrate and use.seed:
                opened.append((path, use.seed))  # the function holding it becomes async
            elif (
                not use.ok and migrate and _engine_function(resolver, facts, path, use) is not None
            ):
                opened.append(
                    _engine_function(resolver, facts, path, use)
                )  # `init(engine)`: init becomes async
            elif not use.ok:
                blockers.append((path, use.site))
            elif use.in_coroutine and shared.kind == FACTORY:
                meets = True
    commands = (
        {(path, name) for path, fact in facts.items() for name, _ in getattr(fact, "commands", ())}
        if migrate
        else set()
    )
    blockers.extend(_command_callers(facts, resolver, commands, session_defs, opened))
    disposing, unknown = command_engines(facts, resolver, commands, root)
    blockers.extend(unknown)
    blockers.extend(_passed_seeds(facts, resolver, session_defs, opened))
    blockers.extend(_foreign_subclasses(facts, resolver))
    blockers.extend(_outside_reads(facts))
    urls: Set[Tuple[str, int, str, bool]] = set()
    for (path, _), shared in sorted(resolver.shared.items()):
        if shared.url_ref and shared.problem is not None and shared.problem.code == URL:
            literal = scheme_of(resolver, facts, path, shared.url_ref)
            scheme, _ = async_scheme(literal or "-")
            if scheme is not None:  # proven where the settings build the URL (sqla_urls)
                urls.add((path, shared.site.line, scheme, scheme == literal))
                continue
        if shared.problem is not None and shared.kind != ASYNC_ENGINE:
            blockers.append((path, shared.problem))
    blockers.extend(stuck)
    refused = meets and bool(blockers)
    if refused:
        blockers.sort(key=lambda b: (b[0], b[1].line, b[1].column))
        listed = [f"{os.path.relpath(p, root)}:{s.line}: {s.why}" for p, s in blockers]
        hint = "; ".join(listed[:_SEEN_LIMIT]) + (
            f"; and {len(listed) - _SEEN_LIMIT} more" if len(listed) > _SEEN_LIMIT else ""
        )
        hint += (
            ". Every use must become async in the same run: make them async, then rerun asyncfix"
        )
        targets = [(p, s) for (p, _), s in sorted(resolver.shared.items()) if s.kind == ENGINE]
        targets = targets or [
            (p, s) for (p, _), s in sorted(resolver.shared.items()) if s.kind == FACTORY
        ]
        for path, shared in targets:
            what = "engine" if shared.kind == ENGINE else "session factory"
            more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
            reports[path].append(
                replace(
                    shared.site,
                    why=f"the {what} `{shared.name}` stays sync: {listed[0]}{more}",
                    hint=hint,
                )
            )
        for path, site in blockers:
            if site.code != CLOSURE or not targets:
                reports[path].append(site)
    seeds = tuple(
        (path, qualname)
        for path, defs in session_defs.items()
        for qualname, is_async, _ in defs
        if not is_async
    ) + tuple(sorted(set(opened)))
    factories = frozenset(name for fact in facts.values() for name in fact.factories)
    kept = {
        path: tuple(sorted(set(sites), key=lambda s: (s.line, s.column, s.code)))
        for path, sites in reports.items()
        if sites
    }
    runner = ""
    if migrate and any(_is_test_module(path) for path, _ in seeds):
        conftests = sorted(
            (p for p in facts if os.path.basename(p) == "conftest.py"),
            key=lambda p: (p.count(os.sep), p),
        )
        runner = conftests[0] if conftests else ""
    return Combined(
        meets and not refused,
        seeds,
        factories,
        refused,
        kept,
        migrate,
        aliases,
        runner,
        frozenset(disposals),
        frozenset(facts),
        frozenset(
            (path, line)
            for path, fact in facts.items()
            for line in getattr(fact, "connections", ())
        ),
        frozenset(commands),
        tuple((*key, *reference) for key, reference in sorted(disposing.items())),
        driver,
        frozenset(urls),
    )


def _with_aliases(
    facts: Mapping[str, Any], resolver: _Resolver
) -> Tuple[Dict[str, List[Tuple[str, bool, bool]]], Dict[str, Dict[str, str]]]:
    """Each file's Session functions, counting parameters annotated by a Session alias imported
    from another module (``session: SessionDep``); and, per file, the alias names usable there
    (defined or imported) -> the kind of Session they stand for."""
    session_defs: Dict[str, List[Tuple[str, bool, bool]]] = {}
    aliases: Dict[str, Dict[str, str]] = {}
    for path, fact in facts.items():
        defs = list(fact.session_defs)
        known = {q for q, _, _ in defs}
        local = {name: kind for name, kind in getattr(fact, "aliases", ()) if kind != "async"}
        for qualname, is_async, ref in getattr(fact, "alias_defs", ()):
            if ref not in local:
                key, left = resolver.resolve(path, ref)
                if (
                    key is None
                    or left
                    or resolver.shared[key].kind != ALIAS
                    or resolver.shared[key].bind == "async"
                ):
                    continue
                local[ref] = resolver.shared[key].bind
            if qualname not in known:
                known.add(qualname)
                defs.append((qualname, is_async, True))
        session_defs[path] = defs
        if local:
            aliases[path] = local
    return session_defs, aliases


def _engine_function(
    resolver: _Resolver, facts: Mapping[str, Any], path: str, use: Use
) -> Optional[Tuple[str, str]]:
    """The project function ``f`` of ``f(engine)`` when the engine lands in a parameter annotated
    ``Engine`` of a sync function that can take an async engine by becoming async (its sessions
    on the parameter convert like those on the engine)."""
    written, position, keyword = use.callee
    if not written or (position < 0 and not keyword):
        return None
    head, _, rest = written.partition(".")
    target, name = path, written
    origin = resolver.imports.get(path, {}).get(head)
    if origin is not None:
        level, module, attribute = origin
        if attribute and not rest:
            target, name = resolver.module(path, level, module), attribute
        elif not attribute and rest:
            target, name = resolver.module(path, level, module), rest
        else:
            return None
    for qualname, parameter, index in (
        getattr(facts.get(target), "engine_defs", ()) if target else ()
    ):
        if qualname == name and (index == position if position >= 0 else parameter == keyword):
            return target, qualname
    return None


def _command_callers(facts, resolver, commands, session_defs, opened) -> List[Tuple[str, Site]]:
    """A CLI command runs its body with ``asyncio.run`` once split (sqla_commands): called from a
    coroutine, or from a function this run makes async, it would start a loop inside a loop."""
    found: List[Tuple[str, Site]] = []
    for path, line, column, key, owner, is_async in command_callers(facts, resolver, commands):
        seeded = (path, owner) in opened or any(
            q.rpartition(".")[2] == owner for q, _, _ in session_defs.get(path, ())
        )
        if is_async or seeded:
            name = key[1]
            why = f"the CLI command `{name}` is called from `{owner}`, which is (or becomes) async"
            hint = f"call what `{name}` does (its session work) from `{owner}`, not the command"
            found.append((path, Site(line, column, STAYS_SYNC, why, hint)))
    return found


def _passed_seeds(facts, resolver, session_defs, opened) -> List[Tuple[str, Site]]:
    """A function this run would make async, handed as a value to code in another module
    (``authenticate_user(get_user, ...)``): the await machinery keeps a callback sync, so its
    session work would stay sync on the async engine. It blocks the conversion."""
    seeds = set(opened) | {
        (path, q) for path, defs in session_defs.items() for q, is_async, _ in defs if not is_async
    }
    found: List[Tuple[str, Site]] = []
    for path, fact in sorted(facts.items()):
        for name, line, column in getattr(fact, "passed_refs", ()):
            origin = resolver.imports.get(path, {}).get(name)
            if origin is None or not origin[2]:
                continue
            target = resolver.module(path, origin[0], origin[1])
            if (target, origin[2]) in seeds:
                why = f"`{name}` is handed to other code as a value, so it cannot become async"
                hint = f"call `{name}` where it is needed instead of passing it"
                found.append((path, Site(line, column, STAYS_SYNC, why, hint)))
    return found


def _foreign_subclasses(facts: Mapping[str, Any], resolver: _Resolver) -> List[Tuple[str, Site]]:
    """Subclasses of a repository class (sqla_holders) defined in another module: the scan of
    their module does not know ``self.session`` is a session, so their methods would stay sync
    on an AsyncSession. They block the conversion."""
    found: List[Tuple[str, Site]] = []
    for path, fact in facts.items():
        for name, base, site in getattr(fact, "class_bases", ()):
            head, _, rest = base.partition(".")
            origin = resolver.imports.get(path, {}).get(head)
            if origin is None:
                continue
            level, module, attribute = origin
            target, holder = (
                (resolver.module(path, level, module), attribute)
                if attribute and not rest
                else (resolver.module(path, level, module), rest)
            )
            if target is not None and holder in getattr(facts.get(target), "holders", ()):
                why = f"`{name}` subclasses the repository `{base}` of another module"
                hint = "define it in the repository's module, then rerun asyncfix"
                found.append((path, replace(site, code=STAYS_SYNC, why=why, hint=hint)))
    return found


def _outside_reads(facts: Mapping[str, Any]) -> List[Tuple[str, Site]]:
    """``users.session.commit()`` outside the repository: a call on the session the conversion
    makes async that nothing would await. Any ``x.<a repository's session attribute>.m()``
    blocks (by name: the first pass does not type ``x``)."""
    attributes = {a for fact in facts.values() for a in getattr(fact, "holder_attributes", ())}
    found: List[Tuple[str, Site]] = []
    for path, fact in facts.items() if attributes else ():
        for attribute, site in getattr(fact, "outside_reads", ()):
            if attribute in attributes:
                why = f"`.{attribute}` of a repository (its session) is used outside its class"
                hint = "add a repository method for it, then rerun asyncfix"
                found.append((path, replace(site, why=why, hint=hint)))
    return found


def declared_driver(facts: Mapping[str, Any], driver: str) -> Mapping[str, Any]:
    """``[tool.asyncfix] async-driver = "postgresql+asyncpg"``: the user's word for the driver
    of every engine URL that comes from settings (no literal, no sign in the code). A
    declaration is proof: those engines convert, ``make_url(url).set(drivername=...)`` where
    the engine is built. URLs that name a driver keep theirs."""
    if not driver:
        return facts
    package = ASYNC_DRIVERS[driver]
    declared = {}
    for path, fact in facts.items():
        shared = tuple(
            (
                replace(s, problem=None, driver=package)
                if s.kind == ENGINE
                and s.problem is not None
                and s.problem.code == URL
                and FROM_SETTINGS in s.problem.why
                else s
            )
            for s in getattr(fact, "shared", ())
        )
        declared[path] = (
            replace(fact, shared=shared) if shared != getattr(fact, "shared", ()) else fact
        )
    return declared
