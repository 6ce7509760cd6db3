"""One file's tree, read once for the SQLAlchemy first pass (sqla_scan): parents, names, calls,
imports, the project names imported, module-level strings and the app; positions and text.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

from .astwalk import dotted_name, iter_child_nodes
from .resolve import external
from .sqla_commands import cli_commands
from .sqla_facts import ASYNC_AWARE, FASTAPI_APP, Site, _env_default, _imports, _resolve


class FileIndex:
    """What sqla_scan._Scan asks of one file's tree, gathered in one walk."""

    def __init__(self, tree: ast.Module, path: str, source: bytes) -> None:
        self.tree = tree
        self.path = path
        self.lines = source.split(b"\n")
        # One walk of the tree: parents, and the nodes the questions below are about.
        self.parents: Dict[int, ast.AST] = {}
        self.names: List[ast.Name] = []
        self.calls: List[ast.Call] = []
        import_nodes: List[ast.AST] = []
        stack: List[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            for child in iter_child_nodes(node):
                self.parents[id(child)] = node
                stack.append(child)
            if isinstance(node, ast.Name):
                self.names.append(node)
            elif isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                import_nodes.append(node)
        self.names.reverse()
        self.calls.reverse()
        import_nodes.reverse()
        self.imports = _imports(import_nodes)
        self.cli_commands = cli_commands(tree, self.imports)  # typer/click: name -> line
        self.project_imports: Dict[str, Tuple[int, str, str]] = {}
        for node in import_nodes:
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
                if node.level or not external(top):
                    for alias in node.names:
                        if alias.name != "*":
                            self.project_imports[alias.asname or alias.name] = (
                                node.level,
                                node.module or "",
                                alias.name,
                            )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if not external(alias.name.split(".")[0]):
                        local = alias.asname or alias.name.split(".")[0]
                        self.project_imports[local] = (0, alias.name if alias.asname else local, "")
        self.module_strings: Dict[str, ast.AST] = {}
        for statement in tree.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, (ast.Constant, ast.JoinedStr))
            ):
                self.module_strings[statement.targets[0].id] = statement.value
        # `URL = os.environ.get("X", "postgresql://...")`: the default names the URL's dialect
        self.env_defaults: Dict[str, str] = {
            statement.targets[0].id: default
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            for default in [_env_default(statement.value, self.imports)]
            if default is not None
        }
        self.app = self._app()

    # positions and text

    def text(self, node: ast.AST) -> str:
        """The source of ``node`` on one line (ast's positions are UTF-8 byte offsets)."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset
        if 0 <= first <= last < len(self.lines) and end is not None:
            if first == last:
                raw = self.lines[first][start:end]
            else:
                raw = b"\n".join(
                    [
                        self.lines[first][start:],
                        *self.lines[first + 1 : last],
                        self.lines[last][:end],
                    ]
                )
            segment = raw.decode("utf-8", "replace")
        else:
            segment = ast.unparse(node)
        segment = " ".join(segment.split())
        return segment if len(segment) <= 60 else segment[:57] + "..."

    def site(self, node: ast.AST, code: str, why: str, hint: str = "") -> Site:
        line = node.lineno
        raw = self.lines[line - 1] if line - 1 < len(self.lines) else b""
        column = len(raw[: node.col_offset].decode("utf-8", "replace")) + 1
        return Site(line, column, code, why, hint)

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(id(node))

    def function(self, node: ast.AST) -> Optional[ast.AST]:
        """The def, lambda or class whose body holds ``node``; None at module level."""
        current = self.parent(node)
        while current is not None and not isinstance(
            current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        ):
            current = self.parent(current)
        return current

    def call_refs(self) -> List[Tuple[str, int, int, str, bool]]:
        """(callee as written, line, column, enclosing def's name, is it async) of the calls
        that may reach a CLI command: a name imported from the project, or a local command.
        combine() finds the commands' callers through them (sqla_commands)."""
        found = []
        for call in self.calls:
            written = dotted_name(call.func) or ""
            head = written.partition(".")[0]
            if head not in self.project_imports and written not in self.cli_commands:
                continue
            function = self.function(call)
            found.append(
                (
                    written,
                    call.lineno,
                    call.col_offset + 1,
                    getattr(function, "name", ""),
                    isinstance(function, ast.AsyncFunctionDef),
                )
            )
        return found

    def passed_refs(self) -> List[Tuple[str, int, int]]:
        """(name, line, column) of project names imported here and handed to other code as
        values (``authenticate_user(get_user, ...)``): combine() keeps such a function from
        becoming async, as the await machinery would (a callback is called synchronously)."""
        found = []
        for call in self.calls:
            callee = dotted_name(call.func) or ""
            if callee.rpartition(".")[2] in ASYNC_AWARE:
                continue
            for argument in [*call.args, *(k.value for k in call.keywords)]:
                if isinstance(argument, ast.Name) and argument.id in self.project_imports:
                    found.append((argument.id, argument.lineno, argument.col_offset + 1))
        return found

    def where(self, function: Optional[ast.AST]) -> str:
        if function is None:
            return "at module level"
        if isinstance(function, ast.Lambda):
            return "in a lambda"
        if isinstance(function, ast.ClassDef):
            return f"in the body of class `{function.name}`"
        if isinstance(function, ast.AsyncFunctionDef):
            return f"in `{function.name}`"
        return f"in sync `{function.name}`, which stays sync"

    def _app(self) -> Optional[bool]:
        """True: a module defining ``app = FastAPI()`` with no startup code of its own;
        False: one with startup code; None: no app here."""
        for statement in self.tree.body:
            if (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and _resolve(statement.value.func, self.imports) == FASTAPI_APP
            ):
                startup = any(k.arg in ("lifespan", "on_startup") for k in statement.value.keywords)
                source = b"\n".join(self.lines)
                return not startup and b"on_event" not in source
        return None
