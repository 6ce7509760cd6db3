"""The project-wide facts gathered before any file is rewritten.

The engine's first pass ``ast``-parses every file once (in worker processes) and hands the tree
to each selected codemod's :meth:`~asyncfix.codemods.base.Codemod.collect`, which returns
picklable per-file facts. The main process then gives each codemod all of its facts at once
(:meth:`~asyncfix.codemods.base.Codemod.combine`) and keeps what that returns in
:attr:`ProjectIndex.facts` under the codemod's name. The resulting :class:`ProjectIndex` is a
plain, read-only, picklable value handed to every per-file transform, in this process or in a
worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping


@dataclass(frozen=True)
class ProjectIndex:
    root: str = "."
    # codemod NAME -> whatever that codemod's combine() made of its per-file facts
    facts: Mapping[str, Any] = field(default_factory=dict)

    def get(self, codemod: str, default: Any = None) -> Any:
        return self.facts.get(codemod, default)


def module_names(path: str, root: str) -> List[str]:
    """The dotted names a file can be imported as, most specific first.

    ``root/app/api/routes.py`` is ``app.api.routes`` from the project root; if ``app/api`` has
    no ``__init__.py`` (a flat FastAPI app run from its own folder, as in ``from database
    import get_db``), it is also ``routes`` from its own directory; under ``src/`` layouts the
    ``src`` prefix is dropped. Package ``__init__.py`` files are named for their package.
    """
    path = os.path.abspath(path)
    root = os.path.abspath(root)
    stem = os.path.splitext(path)[0]
    parts = os.path.relpath(stem, root).split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    names: List[str] = []

    def add(segments: List[str]) -> None:
        if segments and all(s.isidentifier() for s in segments):
            name = ".".join(segments)
            if name not in names:
                names.append(name)

    if not parts or parts[0] == "..":
        parts = [os.path.basename(stem)] if os.path.basename(stem) != "__init__" else []
    # The package the file belongs to: climb while the directory has an __init__.py.
    directory = os.path.dirname(path)
    package: List[str] = []
    while os.path.exists(os.path.join(directory, "__init__.py")):
        package.insert(0, os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    own = [] if os.path.basename(stem) == "__init__" else [os.path.basename(stem)]
    add(package + own)
    add(parts)
    if parts and parts[0] == "src":
        add(parts[1:])
    add(own)
    return names


def combine_all(per_file: Mapping[str, Dict[str, Any]], codemods: List[Any], root: str) -> ProjectIndex:
    """Build the index from ``{path: {codemod NAME: facts}}``, in sorted path order so the
    result never depends on scheduling."""
    facts: Dict[str, Any] = {}
    for codemod in codemods:
        mine = {
            path: per_file[path][codemod.NAME]
            for path in sorted(per_file)
            if codemod.NAME in per_file[path]
        }
        combined = codemod.combine(mine, root)
        if combined is not None:
            facts[codemod.NAME] = combined
    return ProjectIndex(root=root, facts=facts)
