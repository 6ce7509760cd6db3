"""The per-file collector of the first pass: one walk of a file's ``ast`` gives its
:class:`ModuleFacts` (definitions, imports, call sites with their context, references, what its
coroutines use, what its tests mock, its opt-out comments)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from .astwalk import (
    BUILTINS,
    Columns,
    annotation_type,
    dotted_text,
)
from .blocking_tables import BLOCKING_MARKER  # `# asyncfix: blocking` (blocking.py)
from .callgraph_calls import CallSites
from .program_facts import (
    AWAITED,
    INTO_AWAITED,
    RETURNED,
    STORED,
    TAKES_AWAITABLES,
    DefFacts,
    Import,
    ModuleFacts,
    Reference,
    called,
)

# `# asyncfix: ignore` (every codemod) or `# asyncfix: ignore[name, other_name]` (those only).
IGNORE_COMMENT = re.compile(r"#\s*asyncfix:\s*ignore(?:\[([^\]]*)\])?")


@dataclass
class _Frame:
    kind: str  # module | class | def | lambda
    qualname: str
    is_async: bool = False
    instances: Dict[str, str] = field(default_factory=dict)
    # A def's own body (not nested defs, lambdas, classes, nor the headers of those), as the
    # walk goes: the names it binds (they shadow: astwalk.bound_names), those it declares
    # global/nonlocal, whether it yields or awaits, and its calls whose root may be one of
    # those names (index in ModuleFacts.calls, root), dropped when the def ends if it is.
    stores: Set[str] = field(default_factory=set)
    declared: Set[str] = field(default_factory=set)
    generator: bool = False
    awaits: bool = False
    deferred: List[Tuple[int, str]] = field(default_factory=list)


class _Collector(CallSites):
    def __init__(self, path: str, source: bytes) -> None:
        self.facts = ModuleFacts(path)
        self.columns = Columns(source)
        self.frames: List[_Frame] = [_Frame("module", "")]
        self.context: Dict[int, Tuple[str, str]] = {}  # id(call) -> (context, stored name)
        self.statement_calls: Set[int] = set()
        self.comprehension_depth = 0
        self.in_genexp = 0
        self.main_guard = 0
        self.slot_args: Set[int] = set()  # ids of Name/Attribute nodes in async-aware slots
        self.with_items: Set[int] = set()  # ids of calls that are `with` items
        self.mocked: Set[str] = set()  # ModuleFacts.mocked
        self.imported: List[Import] = []  # ModuleFacts.imported
        self.async_names: Set[str] = set()
        self.async_chains: Set[str] = set()  # dotted names as written in coroutines
        # local name -> every module path an import anywhere in the file binds it to
        self.import_paths: Dict[str, Set[str]] = {}
        self.module_bindings: Dict[str, str] = {}  # module-level name -> constructor it calls
        # > 0 while visiting the header of a def, lambda or class (decorators, defaults,
        # annotations, bases): code there is not the enclosing def's own body.
        self.header = 0
        self.local_calls: Set[int] = set()  # indices in facts.calls of calls of a local name
        # (target, instance_of, owner, line, ast column, async-aware) of every reference: most
        # are dropped at the end (collect_module), so Reference objects are made for the rest
        self.raw_references: List[Tuple[str, str, str, int, int, bool]] = []

    # -- helpers

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def body_frame(self) -> Optional[_Frame]:
        """The def whose own body the walk is in, if any."""
        frame = self.frames[-1]
        return frame if frame.kind == "def" and not self.header else None

    def owner(self) -> str:
        frame = self.frame
        if frame.kind == "def":
            return frame.qualname
        if frame.kind == "module":
            return ""
        return f"<{frame.kind}>"

    def mark(self, node: Optional[ast.AST], context: str, name: str = "") -> None:
        """Give ``node`` (a call, or a container whose elements are calls) a context."""
        if node is None:
            return
        if isinstance(node, ast.Call):
            self.context.setdefault(id(node), (context, name))
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for element in node.elts:
                self.mark(element, context, name)
        elif isinstance(node, ast.Starred):
            self.mark(node.value, context, name)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            self.mark(node.elt, context, name)
        elif isinstance(node, ast.DictComp):
            self.mark(node.value, context, name)

    def handled_name(self, node: ast.AST) -> None:
        if isinstance(node, ast.Starred):
            node = node.value
        if isinstance(node, ast.Name):
            self.facts.handled.setdefault(self.owner(), set()).add(node.id)

    # -- scopes

    def _def(self, node: ast.AST, is_async: bool) -> None:
        parent = self.frame
        if parent.kind == "module":
            qualname = node.name
        elif parent.kind == "class":
            qualname = f"{parent.qualname}.{node.name}"
        else:
            qualname = f"{parent.qualname}.<locals>.{node.name}"
        # Entered now, so nested defs come after it; completed when its body is walked.
        self.facts.defs[qualname] = facts = DefFacts(
            qualname=qualname,
            name=node.name,
            line=node.lineno,
            is_async=is_async,
            owner_class=parent.qualname if parent.kind == "class" else "",
            decorators=tuple(
                dotted_text(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
            ),
            is_generator=False,
        )
        self.header += 1
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)
        self.header -= 1
        frame = _Frame("def", qualname, is_async)
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None:
                annotation = annotation_type(arg.annotation)
                if annotation:
                    frame.instances[arg.arg] = annotation
        self.frames.append(frame)
        saved = (self.comprehension_depth, self.in_genexp, self.main_guard, self.header)
        self.comprehension_depth = self.in_genexp = self.main_guard = self.header = 0
        for statement in node.body:
            self.visit(statement)
        self.comprehension_depth, self.in_genexp, self.main_guard, self.header = saved
        self.frames.pop()
        self.facts.defs[qualname] = replace(
            facts, is_generator=frame.generator, awaits=frame.awaits
        )
        arguments = node.args
        bound = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        bound = (bound | frame.stores) - frame.declared
        self.local_calls.update(index for index, root in frame.deferred if root in bound)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._def(node, False)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._def(node, True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        parent = self.frame
        qualname = node.name if parent.kind == "module" else f"{parent.qualname}.{node.name}"
        if parent.kind == "def":
            qualname = f"{parent.qualname}.<locals>.{node.name}"
        self.facts.classes[qualname] = tuple(dotted_text(base) for base in node.bases)
        self.header += 1
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self.header -= 1
        self.frames.append(_Frame("class", qualname))
        for statement in node.body:
            self.visit(statement)
        self.frames.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.header += 1
        self.visit(node.args)
        self.header -= 1
        self.frames.append(_Frame("lambda", f"{self.frame.qualname}.<lambda>"))
        self.visit(node.body)
        self.frames.pop()

    def _comprehension(self, node: ast.AST, elements: Sequence[ast.AST], genexp: bool) -> None:
        generators = node.generators
        # The first iterable is evaluated by the enclosing scope.
        self.visit(generators[0].iter)
        self.comprehension_depth += 1
        self.in_genexp += genexp
        for index, generator in enumerate(generators):
            self.visit(generator.target)
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for element in elements:
            self.visit(element)
        self.in_genexp -= genexp
        self.comprehension_depth -= 1

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt], False)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, [node.elt], False)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value], False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt], True)

    # -- statements that give calls their context

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guard = (
            self.frame.kind == "module"
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        )
        self.visit(node.test)
        self.main_guard += guard
        for statement in node.body:
            self.visit(statement)
        self.main_guard -= guard
        for statement in node.orelse:
            self.visit(statement)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self.statement_calls.add(id(node.value))
            call = node.value
            if (
                dotted_text(call.func) == "sys.exit"
                and len(call.args) == 1
                and not call.keywords
                and isinstance(call.args[0], ast.Call)
            ):  # `sys.exit(main())`: the exit status of a whole-statement call
                self.statement_calls.add(id(call.args[0]))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call):
            self.statement_calls.add(id(value))
        if (
            self.frame.kind == "module"
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            if isinstance(value, ast.Subscript):  # SessionDep = Annotated[Session, Depends(get_db)]
                aliased = annotation_type(value)
                if aliased:
                    self.facts.type_aliases[node.targets[0].id] = aliased
        self._self_attribute(node.targets[0] if len(node.targets) == 1 else None, value)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            self.mark(value, STORED, name)
            if isinstance(value, ast.Call):
                constructor = dotted_text(value.func)
                if constructor:
                    self.frame.instances[name] = constructor
                    if self.frame.kind == "module":  # `session = requests.Session()`
                        self.module_bindings[name] = constructor
        target = node.targets[0]
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "dependency_overrides"
        ):
            self.slot_args.add(id(value))
        self.generic_visit(node)

    def _self_attribute(self, target: Optional[ast.AST], value: Optional[ast.AST]) -> None:
        """`self.x = Repo(...)` / `self.x = param` (annotated) in `__init__`: the type of x."""
        frame = self.frame
        if not (
            frame.kind == "def"
            and frame.qualname.endswith(".__init__")
            and isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            return
        kind = ""
        if isinstance(value, ast.Call):
            kind = dotted_text(value.func)
        elif isinstance(value, ast.Name):
            kind = frame.instances.get(value.id, "")
        if kind:
            owner = frame.qualname[: -len(".__init__")]
            self.facts.attributes[f"{owner}.{target.attr}"] = kind

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Attribute) and node.value is not None:
            self._self_attribute(node.target, node.value)
        if isinstance(node.target, ast.Name) and node.value is not None:
            self.mark(node.value, STORED, node.target.id)
            annotation = dotted_text(node.annotation)
            if annotation:
                self.frame.instances[node.target.id] = annotation
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        self.mark(node.value, RETURNED)
        self.generic_visit(node)

    def _yield(self, node: ast.AST) -> None:
        frame = self.body_frame()
        if frame is not None:
            frame.generator = True
        self.generic_visit(node)

    visit_Yield = visit_YieldFrom = _yield

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        frame = self.body_frame()
        if frame is not None:
            frame.awaits = True
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        frame = self.body_frame()
        if frame is not None and node.name:
            frame.stores.add(node.name)
        self.generic_visit(node)

    def _declare(self, node: ast.AST) -> None:
        frame = self.body_frame()
        if frame is not None:
            frame.declared.update(node.names)

    visit_Global = visit_Nonlocal = _declare

    def visit_Await(self, node: ast.Await) -> None:
        frame = self.body_frame()
        if frame is not None:
            frame.awaits = True
        self.mark(node.value, AWAITED)
        self.handled_name(node.value)
        if isinstance(node.value, ast.Call):  # `await _run_to_completion(self.close())`
            callee = node.value.func
            last = callee.attr if isinstance(callee, ast.Attribute) else dotted_text(callee)
            if last not in TAKES_AWAITABLES:  # those hand their arguments on (visit_Call)
                for argument in [*node.value.args, *(k.value for k in node.value.keywords)]:
                    self.mark(argument, INTO_AWAITED)
        self.generic_visit(node)

    def _with(self, node: ast.AST) -> None:
        for item in node.items:
            self.with_items.add(id(item.context_expr))
            if isinstance(item.optional_vars, ast.Name) and isinstance(item.context_expr, ast.Call):
                constructor = dotted_text(item.context_expr.func)
                if constructor:
                    self.frame.instances[item.optional_vars.id] = constructor
        self.generic_visit(node)

    visit_With = _with

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        frame = self.body_frame()
        if frame is not None:
            frame.awaits = True
        self._with(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in _MOCKING_LIBRARIES:
                self.mocked.add(alias.name)
            self._import(node, 0, alias.name, "", alias.asname or "")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.level and (node.module or "").split(".")[0] in _MOCKING_LIBRARIES:
            self.mocked.add(node.module or "")
        for alias in node.names:
            self._import(node, node.level, node.module or "", alias.name, alias.asname or "")

    def _import(self, node: ast.stmt, level: int, module: str, name: str, asname: str) -> None:
        entry = Import(level, module, name, asname, node.lineno, node.col_offset, self.owner())
        self.imported.append(entry)
        if name == "*":
            return
        self.facts.imports[entry.local] = (level, module if name or asname else entry.path, name)
        self.import_paths.setdefault(entry.local, set()).add(entry.path)


# Libraries that replace HTTP clients (ModuleFacts.mocked).
_MOCKING_LIBRARIES = frozenset({"responses", "requests_mock", "respx", "pytest_httpx"})


def _qualified_prefixes(collector: "_Collector") -> Set[str]:
    """Every dotted name used in a coroutine, its head resolved through the file's imports
    (all of them, wherever they stand: a superset is safe), and through module-level
    ``name = constructor()`` bindings, as ``=a``, ``=a.b``, ``=a.b.c``: so a codemod can ask
    for ``time.sleep`` or for anything under ``requests`` (Codemod.ASYNC_TARGETS)."""
    out: Set[str] = set()
    for chain in collector.async_chains:
        head, _, rest = chain.partition(".")
        # A name no import binds is a builtin (`open`), or a local that no qualified name
        # can match (a parameter called `requests`).
        fulls = [chain] if head in BUILTINS else []
        for base in collector.import_paths.get(head, ()):
            fulls.append(f"{base}.{rest}" if rest else base)
        if head in collector.module_bindings:
            binding = collector.module_bindings[head]
            bhead, _, brest = binding.partition(".")
            fulls.append(binding)
            for base in collector.import_paths.get(bhead, ()):
                fulls.append(f"{base}.{brest}" if brest else base)
        for full in fulls:
            parts = full.split(".")
            for end in range(1, len(parts) + 1):
                out.add("=" + ".".join(parts[:end]))
    return out


def collect_module(tree: ast.Module, path: str, source: bytes) -> ModuleFacts:
    """The call-graph facts of one file, trimmed to what can matter across the project: calls
    and references whose root name is imported, defined here, ``self``/``cls``, or a local
    instance of a known class (``print(...)`` or a local variable's method never can)."""
    collector = _Collector(path, source)
    collector.visit(tree)
    facts = collector.facts
    if collector.local_calls:
        facts.calls = [c for i, c in enumerate(facts.calls) if i not in collector.local_calls]
    roots = set(facts.imports) | {"self", "cls", "open", "input"}  # builtins that block
    roots |= {qualname.rpartition(".")[2] for qualname in facts.defs}
    roots |= {qualname.rpartition(".")[2] for qualname in facts.classes}
    facts.calls = [c for c in facts.calls if c.instance_of or c.target.split(".")[0] in roots]
    char = collector.columns.char
    facts.references = [
        Reference(target, instance_of, owner, line, char(line, column) + 1, aware)
        for target, instance_of, owner, line, column, aware in collector.raw_references
        if instance_of or target.partition(".")[0] in roots
    ]
    facts.opt_outs = _opt_outs(source)
    facts.opted_out = frozenset(facts.opt_outs)
    facts.mocked = frozenset(collector.mocked)
    facts.imported = tuple(collector.imported)
    if b"asyncfix: blocking" in source:
        facts.blocking_marks = frozenset(
            number
            for number, line in enumerate(source.splitlines(), start=1)
            if BLOCKING_MARKER.search(line.decode("utf-8", "replace"))
        )
    names = set(collector.async_names)
    names.update(_qualified_prefixes(collector))
    for call in facts.calls:  # kept calls: the root is imported or defined in this file
        owner = facts.defs.get(call.owner)
        if owner is not None and owner.is_async:
            names.update(called(part) for part in call.target.split("."))
    facts.async_names = frozenset(names)
    return facts


def _opt_outs(source: bytes) -> Dict[int, Optional[FrozenSet[str]]]:
    """Line -> the codemods its opt-out comment names (None: ``# asyncfix: ignore``, all of
    them); lines counted as ``ast`` counts them."""
    if b"asyncfix" not in source:
        return {}
    found: Dict[int, Optional[FrozenSet[str]]] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        match = IGNORE_COMMENT.search(line.decode("utf-8", "replace"))
        if match:
            names = match.group(1)
            found[number] = (
                None
                if names is None
                else frozenset(name.strip() for name in names.split(",") if name.strip())
            )
    return found
