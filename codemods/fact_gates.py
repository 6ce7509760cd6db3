"""The first pass of the codemods with facts of their own (gates.py has the others and the
registry of all): what each collects from a file's ``ast``, combines over the project and
decides over the whole program, and which files reach libcst for it. No libcst here.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from . import cpu_hosts, requests_hosts, requests_mocks, syntax
from .app_graph import role
from .app_tokens import APP_EVENT_TOKENS
from .cpu_cost import scan
from .cpu_hosts import POOL_HOSTS_KEY, POOL_NAME
from .cpu_proof import CpuFacts
from .cpu_proof import combine_facts as combine_cpu_facts
from .dependency_facts import (
    FileNames,
    class_facts,
    combine_facts,
    dependency_refs,
    factory_facts,
    modules_of,
)
from .dependency_yields import has_yield_site, releases_known, yield_sites
from .diagnostic import Diagnostic
from .first_pass import FirstPass
from .gate_tables import (
    CPU_ASYNC_TARGETS,
)
from .program_facts import ModuleFacts, Program, ProjectIndex, called, qualified
from .requests_hosts import HOSTS_KEY, ClientFacts
from .requests_mocks import RequestsFacts
from .requests_tables import METHODS as HTTP_METHODS
from .sqla_closure import decide
from .sqla_facts import CLOSURE, Site
from .sqla_mocks import replaced
from .sqla_scan import _collect
from .sqla_urls import settings_url


class DependencyCloseGate(FirstPass):
    NAME = "dependency_close"
    NEEDS = (b"yield",)
    # Not LOCAL: a class of the same file decides whether a yielded object is a resource.
    ASYNC_ONLY = False  # sync dependencies leak just the same
    # A file holding one of these may name a dependency itself (see wants()).
    TOKENS = (b"Depends", b"Security", b"dependency_overrides", b"contextmanager")
    FACT_TOKENS = (*TOKENS, b"sessionmaker")

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes, module: ModuleFacts) -> Any:
        # Every module-level class (a yielded project object without close/aclose is not a
        # resource; one with an unknown base may be). The rest only where it can occur:
        # dependencies are named where a token occurs, session factories say `sessionmaker`,
        # and a re-export (`from .sessions import get_db`) most often sits in __init__.py.
        # And, for wants(), whether a function here has a shape the rewrite acts on: decided
        # on this tree, so libcst and a second ast.parse see only the files that have one.
        site: Dict[str, Any] = {}
        if b"yield" in source:
            lookups: List[str] = []
            managed, functions = yield_sites(tree, source, module.imported, lookups)
            found = managed or functions or lookups
            site["site"] = (managed, functions, tuple(lookups)) if found else None
        has_classes = any(isinstance(statement, ast.ClassDef) for statement in tree.body)
        full = any(token in source for token in cls.FACT_TOKENS) or path.endswith("__init__.py")
        if not (has_classes or full):
            return (
                {"refs": [], "aliases": {}, "classes": {}, "factories": {}, **site}
                if site
                else None
            )
        names = FileNames(tree, module)
        facts = {
            "refs": dependency_refs(tree, names) if full else [],
            "aliases": names.imports if full else {},
            "classes": class_facts(tree, names),
            "factories": factory_facts(tree, names) if full else {},
        }
        return {**facts, **site} if any(facts.values()) or site else None

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        return combine_facts(facts, root) if facts else None

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        """A generator file that names a dependency itself, or one the project index says
        defines a dependency (``Depends(get_db)`` elsewhere)."""
        if b"yield" not in source:
            return False
        if not any(token in source for token in cls.TOKENS):
            known = project.get(cls.NAME) if project is not None else None
            if not known or not path:
                return False
            modules = modules_of(path, project.root)
            if not any(
                dependency.startswith(f"{module}.")
                for dependency in known["dependencies"]
                for module in modules
            ):
                return False
        # Parsing with libcst (and its scope analysis) costs a hundred times more than ast:
        # only a file with a function whose own body yields, bare or directly in a `try`, can
        # have anything to rewrite or report. The first pass judged the file (collect) when
        # it ran on it; else its ast decides here.
        known = project.get(cls.NAME) if project is not None else None
        if known and path in known.get("yield_scanned", ()):
            managed, functions, lookups = known["yield_sites"].get(path, (False, (), ()))
            return (
                managed
                or any(
                    f"{module}.{qualname}" in known["dependencies"]
                    for module in modules_of(path, project.root)
                    for qualname in functions
                )
                or bool(lookups)
                and releases_known(lookups, path, project.root, known)
            )
        try:
            tree = syntax.parse(source)
        except (SyntaxError, ValueError):
            return True  # nothing parses it: let libcst decide
        return has_yield_site(tree)


class SqlalchemyToAsyncGate(FirstPass):
    NAME = "sqlalchemy_to_async"
    NEEDS = (b"sqlalchemy", b"sqlmodel", b"Session")
    ASYNC_ONLY = False

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes, module: ModuleFacts) -> Any:
        if (
            not any(token in source for token in cls.NEEDS)
            and b"engine" not in source
            and b"session" not in source  # `with session_scope() as s` (sqla_scopes)
            and b"click" not in source  # CLI commands (sqla_commands)
            and b"typer" not in source
            and not settings_url(source)  # settings building the engine URL (sqla_urls)
        ):
            return None
        return _collect(tree, path, source, module)

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        """One decision for the whole program: convert when a Session meets async code and
        every use of the engines, session factories and Session functions converts with it;
        otherwise convert nothing and say, on each engine, which uses kept it sync."""
        return decide(facts, root)

    @classmethod
    def combine_with_options(
        cls, facts: Mapping[str, Any], root: str, options: Mapping[str, Any]
    ) -> Any:
        return decide(
            facts, root, bool(options.get("migrate")), driver=options.get("async_driver") or ""
        )

    @classmethod
    def async_seeds(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        return combined.seeds if combined is not None and combined.converting else ()

    @classmethod
    def async_entries(cls, combined: Any) -> Iterable[Tuple[str, str]]:
        """CLI commands the await machinery may make async while their callers call them
        synchronously: this codemod splits each into a sync command running ``asyncio.run``
        on an ``async def`` holding its body (sqla_commands)."""
        return combined.commands if combined is not None and combined.converting else ()

    @classmethod
    def analyse(cls, program: Program) -> None:
        """Closure or nothing, over the whole program: every Session function the conversion
        makes async must really become async. The await analysis (before this codemod in the
        registry) keeps one sync when a caller cannot await it, e.g. it is handed to other code
        as a value from a module this codemod's first pass never read; then the conversion is
        refused (SQLA008 names the function and why) and, its seeds dropped, the await analysis
        runs again (propagate.combine_all: analyses run to a fixed point)."""
        combined = program.facts.get(cls.NAME)
        if combined is None or not combined.converting:
            return
        stuck = []
        for path, qualname in combined.seeds:
            why = program.refused.get((path, qualname))
            if why is None:
                continue
            definition = program.modules[path].defs[qualname]
            stuck.append(
                (
                    path,
                    Site(
                        definition.line,
                        1,
                        CLOSURE,
                        f"`{qualname}` would take the session's awaits but stays sync: "
                        f"{why or 'a caller cannot await it'}",
                    ),
                )
            )
        converted: Set[Tuple[str, str]] = set()
        stuck.extend(replaced(program, program.inputs.get(cls.NAME, {}), converted))
        if converted and not stuck:
            program.facts[cls.NAME] = dataclasses.replace(combined, doubles=frozenset(converted))
        if not stuck:
            return
        program.facts[cls.NAME] = decide(
            program.inputs[cls.NAME], program.root, combined.migrate, stuck, combined.driver
        )
        dropped = set(combined.seeds)
        # Fewer seeds and entries: propagate.combine_all runs the await analysis again.
        program.seeds = [seed for seed in program.seeds if seed not in dropped]
        program.entries = program.entries - combined.commands

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Any = None) -> bool:
        combined = project.get(cls.NAME) if project is not None else None
        if combined is None or not combined.converting:
            return False
        return any(token in source for token in cls.NEEDS) or path in combined.files

    @classmethod
    def reports_unparsed(cls, path: str, project: Any) -> bool:
        combined = project.get(cls.NAME) if project is not None else None
        return combined is not None and bool((combined.reports or {}).get(path))

    @classmethod
    def report_unparsed(cls, file: Any) -> None:
        combined = file.project.get(cls.NAME)
        for site in (combined.reports or {}).get(file.filename, ()) if combined is not None else ():
            names = file.ignores.get(site.line, frozenset()) if file.ignores else frozenset()
            if site.line in (file.ignores or {}) and (names is None or cls.NAME in names):
                continue
            file.diagnostics.append(
                Diagnostic(
                    file.path, site.line, site.column, site.code, site.why, site.hint, cls.NAME
                )
            )


class RequestsToHttpxGate(FirstPass):
    NAME = "requests_to_httpx"
    NEEDS = (b"requests", b"httpx", b"urlopen")
    LOCAL = True
    # Anything under requests and urllib.request; of httpx, what the transform acts on in a
    # coroutine: the sync Client (a `with`, a call, a module-level one: module-level sessions
    # resolve to their constructor) and the module's request functions, not AsyncClient (any
    # import style).
    ASYNC_TARGETS = frozenset(
        {"requests", "urllib.request", "httpx.Client", *(f"httpx.{m}" for m in HTTP_METHODS)}
    )
    # `app=` given to a call: httpx's (Async)Client(app=...) is rewritten wherever it stands
    # (requests_sessions._plan_app) in a file that reaches the transform.
    APP_KEYWORD = re.compile(rb"\bapp(?:\s|\\|#[^\n]*)*=(?!=)")

    @classmethod
    def in_coroutines(cls, names: FrozenSet[str], source: bytes) -> bool:
        if super().in_coroutines(names, source):
            return True
        return qualified("httpx") in names and cls.APP_KEYWORD.search(source) is not None

    @classmethod
    def collect(
        cls, tree: ast.Module, path: str, source: bytes, module: ModuleFacts
    ) -> Optional[Tuple[Optional[RequestsFacts], Optional[ClientFacts]]]:
        mocks = None
        if any(token in source for token in (b"requests", b"responses", b"AsyncClient")):
            mocks = requests_mocks.collect(tree, module)
        clients = requests_hosts.collect(tree, source, module)
        return None if mocks is None and clients is None else (mocks, clients)

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Dict[str, RequestsFacts]:
        return {path: mocks for path, (mocks, _) in facts.items() if mocks is not None}

    @classmethod
    def analyse(cls, program: Program) -> None:
        """Which module of each app holds the client its modules share (requests_hosts.py),
        once the await analysis has said which functions become async."""
        found = {
            path: clients
            for path, (_, clients) in program.inputs.get(cls.NAME, {}).items()
            if clients is not None
        }
        roles = requests_hosts.decide(program, found)
        if roles:
            program.facts[HOSTS_KEY] = roles

    @classmethod
    def _mock_sites(cls, path: str, project: Optional[ProjectIndex]) -> bool:
        rung = project.facts.get("native") if project is not None else None  # native.FACTS_KEY
        return rung is not None and bool(rung.mocks.get(path))

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        return (
            cls._mock_sites(path, project)
            or role(project, HOSTS_KEY, path) is not None
            or super().wants(source, path, project)
        )

    @classmethod
    def reduction_tokens(cls, path: str, project: Optional[ProjectIndex]) -> Set[str]:
        tokens = super().reduction_tokens(path, project)
        if role(project, HOSTS_KEY, path) is not None:
            tokens |= {"lifespan", "http_client"}  # the app's lifespan, the shared client
        return tokens | {"patch"} if cls._mock_sites(path, project) else tokens


class CpuToExecutorGate(FirstPass):
    NAME = "cpu_to_executor"
    # Library names and the marker; project functions come from the index (see wants()).
    NEEDS = (
        b"pbkdf2_hmac",
        b"scrypt",
        b"bcrypt",
        b"passlib",
        b"CryptContext",
        b"argon2",
        b"PasswordHasher",
        b"Pool",
        b"get_event_loop",
    )
    ASYNC_TARGETS = CPU_ASYNC_TARGETS
    # Per coroutine; a heavy function is known through the project index, by name (and a def
    # of this file that is one names itself, so the reduction keeps it: see reduction_tokens).
    LOCAL = True

    @classmethod
    def collect(cls, tree: ast.Module, path: str, source: bytes, module: ModuleFacts) -> Any:
        found = scan(tree, source, module) if b"def " in source or b"= " in source else None
        empty = {"imports": {}, "functions": {}, "instances": {}}
        if any(token in source for token in APP_EVENT_TOKENS):  # no lifespan for the pool then
            found = {**(found or empty), "app_events": True}
        pool = cpu_hosts.collect(tree, source, module)  # the app's shared pool (analyse)
        if pool is not None:
            found = {**(found or empty), "pool": pool}
        return found

    @classmethod
    def combine(cls, facts: Mapping[str, Any], root: str) -> Any:
        return combine_cpu_facts(facts, root)

    @classmethod
    def analyse(cls, program: Program) -> None:
        """Which module of each app holds the process pool its modules share (cpu_hosts.py),
        once the await analysis has said which functions become async."""
        found = {
            path: file["pool"]
            for path, file in program.inputs.get(cls.NAME, {}).items()
            if file.get("pool") is not None
        }
        roles = cpu_hosts.decide(program, found)
        if roles:
            program.facts[POOL_HOSTS_KEY] = roles

    @classmethod
    def wants(cls, source: bytes, path: str = "", project: Optional[ProjectIndex] = None) -> bool:
        if role(project, POOL_HOSTS_KEY, path) is not None:
            return True  # it holds, imports or closes the app's pool
        if b"async" not in source:
            return False
        in_coroutines = project.coroutine_names(path) if project is not None else None
        if any(token in source for token in cls.NEEDS):
            if in_coroutines is None or cls.in_coroutines(in_coroutines, source):
                return True
        facts = project.get(cls.NAME) if project is not None else None
        if not isinstance(facts, CpuFacts):
            return b"def " in source  # no first pass ran: look at the file itself
        # Heavy project functions and instances by name, and the functions the option names.
        configured = getattr(project, "options", {}).get("cpu_bound", ())
        names = facts.names | {name.rpartition(".")[2] for name in configured}
        if in_coroutines is not None:  # called in a coroutine, through an import or a def here
            return any(called(name) in in_coroutines for name in names)
        return any(name.encode() in source for name in names)

    @classmethod
    def reduction_tokens(cls, path: str, project: Optional[ProjectIndex]) -> Set[str]:
        tokens = super().reduction_tokens(path, project)
        tokens |= {"asyncfix: cpu-bound", "Pool", "get_event_loop", "multiprocessing"}
        if role(project, POOL_HOSTS_KEY, path) is not None:
            tokens |= {"lifespan", POOL_NAME}  # the app's lifespan, the shared pool
        facts = project.get(cls.NAME) if project is not None else None
        if isinstance(facts, CpuFacts):
            tokens |= set(facts.names)
        configured = getattr(project, "options", {}).get("cpu_bound", ())
        return tokens | {name.rpartition(".")[2] for name in configured}
