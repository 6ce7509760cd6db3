"""Never worse (issue 15): asyncfix over the libraries a FastAPI app stands on must not break them.

The test venv's own copies of fastapi, starlette, pydantic, pydantic_core, sqlalchemy, anyio,
httpx, httpcore, h11, idna, sniffio and click (whichever are installed) are copied whole into
one temporary directory (compiled extensions included: pydantic_core is mostly its binary) and
rewritten there as one project with ``asyncfix --apply``. Then:

1. the run ends without a failed file (exit status 0: in --apply mode "changed" is not an
   error, 1 is only --check/--dry-run's "would change", 2 is a failure);
2. no sync ``def`` of those packages became ``async def`` and no ``async def`` became ``def``
   (compared per file and qualified name, by ``ast``), and the number of ``async def`` per
   package is unchanged: released library code is correct already, and a function whose
   colour changes breaks every caller (sync callers get a coroutine, awaiting callers a value);
3. a program (PROGRAM below) run against the rewritten copies, and only them (PYTHONPATH,
   checked in the program through every loaded module's ``__file__``), passes: FastAPI
   dependencies (sync, async, with yield, cached) and request validation (422s), pydantic
   generic models (``Page[T]``, a PEP 604 union of a type variable, generic TypedDict and
   NamedTuple), SQLAlchemy 2.0 ORM relationships loaded with selectinload, joinedload,
   subqueryload, chained and nested loader options, and a pickled instance loaded with options.
   The same program first runs against the untouched copies, so a failure here is the rewrite's;
4. a second ``--apply`` changes no byte (a fixed point).

Slow (two asyncfix runs over ~600 library files, about a minute each on two cores), but it
runs in the default suite: it is required in CI.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

pytestmark = [
    # Not deselected by default: `pytest -m "not slow"` is how a developer skips it locally.
    pytest.mark.slow,
    # The program parametrizes `T | None` (the types.UnionType path of pydantic's generics).
    pytest.mark.skipif(sys.version_info < (3, 10), reason="the program needs Python 3.10+"),
]

PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic_core",
    "sqlalchemy",
    "anyio",
    "httpx",
    "httpcore",
    "h11",
    "idna",
    "sniffio",
    "click",
)
# What the program itself imports: without these there is nothing to exercise.
REQUIRED = ("fastapi", "starlette", "pydantic", "pydantic_core", "sqlalchemy", "anyio", "httpx")

JOBS = "2"
ASYNCFIX_TIMEOUT = 900
PROGRAM_TIMEOUT = 300


def _locate(name: str) -> Optional[Path]:
    """The installed package directory (or single-module file) of ``name``, None if absent."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        locations = list(spec.submodule_search_locations)
        return Path(locations[0]) if locations else None
    if spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    return None


def _copy(source: Path, target_dir: Path) -> Path:
    target = target_dir / source.name
    if source.is_dir():
        # The whole package, .so files included; only bytecode caches stay behind.
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(source, target)
    return target


def _py_files(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


class _Defs(ast.NodeVisitor):
    """Counts (qualified name, is async) of every function definition of one module."""

    def __init__(self) -> None:
        self.stack: List[str] = []
        self.counts: Counter = Counter()

    def _function(self, node, is_async: bool) -> None:
        qualname = ".".join([*self.stack, node.name])
        self.counts[(qualname, is_async)] += 1
        self.stack += [node.name, "<locals>"]
        self.generic_visit(node)
        del self.stack[-2:]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node, False)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node, True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()


def _definitions(libs: Path) -> Counter:
    """(package-relative file, qualified name, is async) -> how many such definitions.

    A multiset, because a name may be defined more than once (overloads, if/else variants)."""
    counts: Counter = Counter()
    for path in _py_files(libs):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError:
            continue  # syntax this Python lacks: asyncfix leaves such a file alone too
        visitor = _Defs()
        visitor.visit(tree)
        relative = path.relative_to(libs).as_posix()
        for (qualname, is_async), count in visitor.counts.items():
            counts[(relative, qualname, is_async)] += count
    return counts


def _async_per_package(definitions: Counter) -> Dict[str, int]:
    per_package: Counter = Counter()
    for (relative, _, is_async), count in definitions.items():
        if is_async:
            per_package[relative.split("/")[0].removesuffix(".py")] += count
    return dict(per_package)


def _converted(before: Counter, after: Counter, to_async: bool = True) -> List[str]:
    """Every `file:qualname` with more definitions of the kind ``to_async`` asks for and fewer
    of the other kind than before: sync functions made async (or, with to_async=False,
    coroutine functions demoted to sync, which breaks every caller that awaits them)."""
    made = []
    for (relative, qualname, is_async), count in sorted(after.items()):
        if is_async != to_async or count <= before[(relative, qualname, is_async)]:
            continue
        if after[(relative, qualname, not is_async)] < before[(relative, qualname, not is_async)]:
            made.append(f"{relative}:{qualname}")
    return made


def _snapshot(libs: Path) -> Dict[str, bytes]:
    """Every file of the copies (the .py files with their bytes; the rest by name only)."""
    return {
        path.relative_to(libs).as_posix(): path.read_bytes() if path.suffix == ".py" else b""
        for path in sorted(libs.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _asyncfix_apply(libs: Path, cwd: Path) -> Tuple[subprocess.CompletedProcess, Optional[dict]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncfix",
            "--apply",
            "--no-cache",
            "-j",
            JOBS,
            "--output-format",
            "json",
            str(libs),
        ],
        capture_output=True,
        text=True,
        timeout=ASYNCFIX_TIMEOUT,
        cwd=cwd,
    )
    try:
        document = json.loads(done.stdout)
    except ValueError:
        document = None
    return done, document


def _run_program(
    tmp: Path, libs: Path, names: List[str], label: str
) -> subprocess.CompletedProcess:
    program = tmp / "never_worse_program.py"
    program.write_text(PROGRAM)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")
    }
    # The copies come first on sys.path; -s keeps the user's site-packages out, -B writes no
    # bytecode into the copies (the second asyncfix run must see only what the first wrote).
    # -I would also drop PYTHONPATH, so the program checks where every module came from instead.
    env["PYTHONPATH"] = str(libs)
    flags = ["-s", "-B"] + (["-P"] if sys.version_info >= (3, 11) else [])
    database = tmp / f"never_worse_{label}.sqlite3"
    if database.exists():
        database.unlink()
    return subprocess.run(
        [sys.executable, *flags, str(program), str(libs), str(database), ",".join(names)],
        capture_output=True,
        text=True,
        timeout=PROGRAM_TIMEOUT,
        cwd=tmp,
        env=env,
    )


def _rewrites_summary(document: Optional[dict], limit: int = 40) -> str:
    """Which codemod rewrote which file (from the run's JSON document), and the diffs."""
    if document is None:
        return "(no JSON document from asyncfix)"
    lines = []
    changed = [f for f in document["files"] if f["status"] == "changed"]
    for entry in changed:
        rewrites = ", ".join(f"{name} {count}" for name, count in sorted(entry["rewrites"].items()))
        lines.append(f"  {entry['file']}: {rewrites}")
    diffs = "\n".join(entry["diff"] for entry in changed)
    diff_lines = diffs.splitlines()
    if len(diff_lines) > 400:
        diff_lines = diff_lines[:400] + [f"... ({len(diff_lines) - 400} more diff lines)"]
    return "\n".join(
        [f"files rewritten by asyncfix ({len(changed)}):", *lines[:limit], *diff_lines]
    )


class _Run:
    """One copy-and-rewrite of the libraries, shared by the tests of this file (in order)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.libs = tmp / "libs"
        self.libs.mkdir()
        # A project marker: the copies are the project root, so `fastapi.routing` is the module
        # name of libs/fastapi/routing.py whatever directory pytest's tmp_path lives in.
        (self.libs / "pyproject.toml").write_text("")
        self.names: List[str] = []
        for name in PACKAGES:
            location = _locate(name)
            if location is not None:
                _copy(location, self.libs)
                self.names.append(name)
        missing = [name for name in REQUIRED if name not in self.names]
        if missing:
            pytest.skip(f"not installed in the test venv: {', '.join(missing)}")
        self.definitions_before = _definitions(self.libs)
        self.baseline = _run_program(tmp, self.libs, self.names, "untouched")
        self.apply, self.document = _asyncfix_apply(self.libs, tmp)
        self.definitions_after = _definitions(self.libs)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> _Run:
    return _Run(tmp_path_factory.mktemp("never_worse"))


def test_slow_apply_over_libraries_exits_without_failure(run: _Run):
    # --apply: 0 when every file was written or unchanged (changed files are not an error in
    # this mode), 2 when a file failed (internal error, unreadable, cannot write).
    assert (
        run.apply.returncode == 0
    ), f"asyncfix --apply exited {run.apply.returncode}\n{run.apply.stderr[-4000:]}"
    assert run.document is not None and run.document["summary"]["failed"] == 0, run.apply.stdout[
        -4000:
    ]
    assert run.document["summary"]["files"] > 300, run.document["summary"]


def test_slow_no_library_function_changes_color(run: _Run):
    made_async = _converted(run.definitions_before, run.definitions_after, to_async=True)
    made_sync = _converted(run.definitions_before, run.definitions_after, to_async=False)
    before = _async_per_package(run.definitions_before)
    after = _async_per_package(run.definitions_after)
    grown = {
        name: (before.get(name, 0), after.get(name, 0))
        for name in sorted(set(before) | set(after))
        if before.get(name, 0) != after.get(name, 0)
    }
    assert not made_async and not made_sync and not grown, (
        f"sync functions made async ({len(made_async)}):\n  "
        + "\n  ".join(made_async)
        + f"\ncoroutine functions made sync ({len(made_sync)}):\n  "
        + "\n  ".join(made_sync)
        + f"\n`async def` per package (before, after): {grown}\n"
        + _rewrites_summary(run.document)
    )


def test_slow_program_passes_against_rewritten_libraries(run: _Run):
    baseline = run.baseline
    assert baseline.returncode == 0 and baseline.stdout.strip().endswith("OK"), (
        "the program fails against the UNTOUCHED copies (a bug of the program or of the "
        f"environment, not of asyncfix):\n{baseline.stdout[-3000:]}\n{baseline.stderr[-6000:]}"
    )
    done = _run_program(run.tmp, run.libs, run.names, "rewritten")
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), (
        f"the program fails against the rewritten copies (rc {done.returncode}):\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}\n" + _rewrites_summary(run.document)
    )


def test_slow_second_apply_changes_nothing(run: _Run):
    before = _snapshot(run.libs)
    done, document = _asyncfix_apply(run.libs, run.tmp)
    after = _snapshot(run.libs)
    assert done.returncode == 0, done.stderr[-4000:]
    changed = sorted(
        path for path in set(before) | set(after) if before.get(path) != after.get(path)
    )
    assert (
        not changed
    ), f"the second --apply changed {len(changed)} files: {changed[:30]}\n" + _rewrites_summary(
        document
    )
    assert document is not None and document["summary"]["changed"] == 0, _rewrites_summary(document)


# The program run against the copies: argv = libraries directory, SQLite file, package names.
# It prints OK as its last line when every check holds; any failure is an exception (rc 1).
PROGRAM = r'''
import asyncio
import importlib
import os
import pickle
import sys
import warnings
from typing import Annotated, Generic, NamedTuple, Optional, TypeVar

ROOT = os.path.realpath(sys.argv[1])
DATABASE = sys.argv[2]
NAMES = sys.argv[3].split(",")

# A coroutine nobody awaits (a library function made async and still called synchronously)
# must fail the program, not just print a warning at garbage collection.
UNRAISABLE = []
sys.unraisablehook = lambda u: UNRAISABLE.append(f"{u.exc_type.__name__}: {u.exc_value}")
warnings.filterwarnings("error", message=r"coroutine .* was never awaited", category=RuntimeWarning)


def inside(path):
    return os.path.realpath(path).startswith(ROOT + os.sep)


def check_sources():
    """Every loaded module of the copied packages comes from the copies."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in NAMES:
            path = getattr(module, "__file__", None)
            assert path is None or inside(path), f"{name} imported from {path}, not from {ROOT}"


for name in NAMES:
    module = importlib.import_module(name)
    assert module.__file__ is not None and inside(module.__file__), (name, module.__file__)
check_sources()

# ---------------------------------------------------------------- pydantic generic models
from typing_extensions import TypedDict
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(ge=0)
    # A PEP 604 union of a type variable: parametrizing goes through pydantic's
    # replace_types -> functools.reduce(operator.or_, ...).
    next_cursor: T | None = None


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class Wrapper(BaseModel, Generic[T]):
    page: Page[T]
    label: Annotated[Optional[T], Field(default=None)]


class Pair(TypedDict, Generic[T]):
    left: T
    right: T | None


class Point(NamedTuple, Generic[T]):
    x: T
    y: T


page = Page[int].model_validate({"items": ["1", 2], "total": 2, "next_cursor": "3"})
assert page.items == [1, 2] and page.next_cursor == 3, page
assert Page[int] is Page[int]
assert Page[int].__name__ == "Page[int]"
try:
    Page[int].model_validate({"items": ["x"], "total": -1})
except ValidationError as error:
    assert {e["loc"] for e in error.errors()} == {("items", 0), ("total",)}, error.errors()
else:
    raise AssertionError("Page[int] accepted bad input")
items = Page[Item].model_validate({"items": [{"name": "pen", "price": "1.5"}], "total": 1})
assert isinstance(items.items[0], Item) and items.items[0].price == 1.5
try:
    Page[Item].model_validate({"items": [{"name": "", "price": 0}], "total": 1})
except ValidationError as error:
    assert {e["loc"] for e in error.errors()} == {("items", 0, "name"), ("items", 0, "price")}
else:
    raise AssertionError("Page[Item] accepted bad items")
wrapped = Wrapper[str].model_validate({"page": {"items": ["a"], "total": 1}, "label": "l"})
assert wrapped.page.items == ["a"] and wrapped.label == "l" and type(wrapped.page) is Page[str]
assert TypeAdapter(Pair[int]).validate_python({"left": "1", "right": None}) == {"left": 1, "right": None}
assert TypeAdapter(Point[int]).validate_python(("1", "2")) == Point(1, 2)
schema = Page[int].model_json_schema()
assert schema["title"] == "Page[int]" and schema["properties"]["items"]["items"] == {"type": "integer"}
assert Page[int](items=[1], total=1).model_dump_json() == '{"items":[1],"total":1,"next_cursor":null}'

# ---------------------------------------------------------------- SQLAlchemy 2.0 ORM
from sqlalchemy import ForeignKey, create_engine, func, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    subqueryload,
)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    # lazy="raise": an attribute read that the eager load did not fill fails loudly.
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="raise", order_by="Book.id")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books", lazy="raise")
    reviews: Mapped[list["Review"]] = relationship(back_populates="book", lazy="raise", order_by="Review.id")


class Review(Base):
    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    stars: Mapped[int]
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id"))
    book: Mapped[Book] = relationship(back_populates="reviews", lazy="raise")


engine = create_engine(f"sqlite:///{DATABASE}", connect_args={"check_same_thread": False})
Base.metadata.create_all(engine)
with Session(engine) as session, session.begin():
    session.add_all(
        [
            Author(name="Ann", books=[
                Book(title="A1", reviews=[Review(stars=5), Review(stars=4)]),
                Book(title="A2"),
            ]),
            Author(name="Bob", books=[Book(title="B1", reviews=[Review(stars=3)])]),
            Author(name="Cid"),
        ]
    )

TITLES = {"Ann": ["A1", "A2"], "Bob": ["B1"], "Cid": []}
STARS = {"A1": [5, 4], "A2": [], "B1": [3]}


def titles(authors):
    return {a.name: [b.title for b in a.books] for a in authors}


def stars(authors):
    return {b.title: [r.stars for r in b.reviews] for a in authors for b in a.books}


with Session(engine) as session:
    by_select = session.scalars(select(Author).options(selectinload(Author.books)).order_by(Author.id)).all()
    by_join = session.scalars(select(Author).options(joinedload(Author.books)).order_by(Author.id)).unique().all()
    by_subquery = session.scalars(
        select(Author).options(subqueryload(Author.books).subqueryload(Book.reviews)).order_by(Author.id)
    ).all()
    chained = session.scalars(
        select(Author).options(selectinload(Author.books).joinedload(Book.reviews)).order_by(Author.id)
    ).unique().all()
    nested = session.scalars(
        select(Author)
        .options(selectinload(Author.books).options(selectinload(Book.reviews), joinedload(Book.author)))
        .order_by(Author.id)
    ).all()
    books = session.scalars(select(Book).options(joinedload(Book.author)).order_by(Book.id)).all()
    counts = session.execute(
        select(Author.name, func.count(Book.id)).outerjoin(Author.books).group_by(Author.id).order_by(Author.id)
    ).all()
    expunged = session.scalars(
        select(Author).where(Author.name == "Ann").options(selectinload(Author.books).selectinload(Book.reviews))
    ).one()
# Read after the session closed: only what the eager loads filled is there (lazy="raise").
assert titles(by_select) == TITLES, titles(by_select)
assert titles(by_join) == TITLES, titles(by_join)
assert titles(by_subquery) == TITLES and stars(by_subquery) == STARS, stars(by_subquery)
assert titles(chained) == TITLES and stars(chained) == STARS, stars(chained)
assert titles(nested) == TITLES and stars(nested) == STARS
assert all(b.author is a for a in nested for b in a.books)
assert [(b.title, b.author.name) for b in books] == [("A1", "Ann"), ("A2", "Ann"), ("B1", "Bob")]
assert [tuple(row) for row in counts] == [("Ann", 2), ("Bob", 1), ("Cid", 0)], counts
# An instance loaded with loader options pickles its load path (PathRegistry serialize and
# deserialize in InstanceState.__getstate__/__setstate__).
restored = pickle.loads(pickle.dumps(expunged))
assert titles([restored]) == {"Ann": ["A1", "A2"]} and stars([restored]) == {"A1": [5, 4], "A2": []}
with Session(engine) as session:
    merged = session.merge(restored, load=True)
    assert merged.name == "Ann" and [b.title for b in merged.books] == ["A1", "A2"]

# ---------------------------------------------------------------- FastAPI
import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.testclient import TestClient

EVENTS = []


def get_settings():
    EVENTS.append("settings")
    return {"token": "secret"}


def sync_resource():  # a sync dependency with yield: runs in the thread pool
    EVENTS.append("sync open")
    try:
        yield "sync-resource"
    finally:
        EVENTS.append("sync close")


async def async_resource():
    EVENTS.append("async open")
    try:
        yield "async-resource"
    finally:
        EVENTS.append("async close")


def current_user(
    settings: Annotated[dict, Depends(get_settings)], x_token: Annotated[str, Header()]
):
    if x_token != settings["token"]:
        raise HTTPException(status_code=401, detail="bad token")
    return "alice"


async def paging(
    user: Annotated[str, Depends(current_user)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    return {"user": user, "limit": limit, "offset": offset}


def get_session():
    with Session(engine) as session:
        yield session


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    title: str


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    books: list[BookOut]


app = FastAPI()


@app.post("/items", response_model=Page[Item])
async def create_item(
    item: Item,
    page_args: Annotated[dict, Depends(paging)],
    settings: Annotated[dict, Depends(get_settings)],  # the same dependency again: cached
    sync_value: Annotated[str, Depends(sync_resource)],
    async_value: Annotated[str, Depends(async_resource)],
):
    assert settings == {"token": "secret"}
    assert (sync_value, async_value) == ("sync-resource", "async-resource")
    return {"items": [item] * page_args["limit"], "total": page_args["limit"], "next_cursor": None}


@app.get("/items/{item_id}")
def read_item(item_id: int, user: Annotated[str, Depends(current_user)]):
    return {"item_id": item_id, "user": user}


@app.get("/authors", response_model=Page[AuthorOut])
def list_authors(
    session: Annotated[Session, Depends(get_session)], page_args: Annotated[dict, Depends(paging)]
):
    statement = (
        select(Author).options(selectinload(Author.books)).order_by(Author.id)
        .limit(page_args["limit"]).offset(page_args["offset"])
    )
    authors = session.scalars(statement).all()
    total = session.scalar(select(func.count()).select_from(Author))
    return {"items": authors, "total": total}


GOOD = {"x-token": "secret"}


def locations(response):
    assert response.status_code == 422, (response.status_code, response.text)
    return {tuple(error["loc"]) for error in response.json()["detail"]}


with TestClient(app) as client:
    EVENTS.clear()
    response = client.post("/items", params={"limit": 2}, headers=GOOD, json={"name": "pen", "price": "2.5"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [{"name": "pen", "price": 2.5, "tags": []}] * 2, "total": 2, "next_cursor": None
    }, response.json()
    assert EVENTS.count("settings") == 1, EVENTS  # dependency cache: once per request
    assert {"sync open", "sync close", "async open", "async close"} <= set(EVENTS), EVENTS
    assert EVENTS.index("sync open") < EVENTS.index("sync close"), EVENTS
    assert EVENTS.index("async open") < EVENTS.index("async close"), EVENTS

    assert locations(client.post("/items", headers=GOOD, json={"name": "", "price": -1})) == {
        ("body", "name"), ("body", "price")
    }
    assert locations(client.post("/items", headers=GOOD, json={"price": 1})) == {("body", "name")}
    malformed = client.post(
        "/items", headers={**GOOD, "content-type": "application/json"}, content=b"{not json"
    )
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["type"] == "json_invalid", (
        malformed.text
    )
    assert ("header", "x-token") in locations(client.post("/items", json={"name": "a", "price": 1}))
    assert locations(
        client.post("/items", params={"limit": 1000}, headers=GOOD, json={"name": "a", "price": 1})
    ) == {("query", "limit")}
    denied = client.post("/items", headers={"x-token": "wrong"}, json={"name": "a", "price": 1})
    assert denied.status_code == 401 and denied.json() == {"detail": "bad token"}, denied.text

    assert client.get("/items/7", headers=GOOD).json() == {"item_id": 7, "user": "alice"}
    assert locations(client.get("/items/seven", headers=GOOD)) == {("path", "item_id")}

    authors = client.get("/authors", params={"limit": 2}, headers=GOOD)
    assert authors.status_code == 200, authors.text
    assert authors.json() == {
        "items": [
            {"name": "Ann", "books": [{"title": "A1"}, {"title": "A2"}]},
            {"name": "Bob", "books": [{"title": "B1"}]},
        ],
        "total": 3,
        "next_cursor": None,
    }, authors.json()
    assert client.get("/authors", params={"offset": 2}, headers=GOOD).json()["items"] == [
        {"name": "Cid", "books": []}
    ]
    openapi = client.get("/openapi.json").json()
    assert {"/items", "/items/{item_id}", "/authors"} <= set(openapi["paths"]), openapi["paths"].keys()


async def over_httpx():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        ok, bad = await asyncio.gather(
            client.post("/items", headers=GOOD, json={"name": "cup", "price": 3}),
            client.post("/items", headers=GOOD, json={"name": "cup", "price": "free"}),
        )
        assert ok.status_code == 200 and ok.json()["items"][0]["name"] == "cup", ok.text
        assert locations(bad) == {("body", "price")}


asyncio.run(over_httpx())

# ---------------------------------------------------------------- the smaller packages
if "click" in NAMES:
    import click
    from click.testing import CliRunner

    @click.command()
    @click.option("--count", type=int, default=1)
    def hello(count):
        click.echo("hi " * count)

    result = CliRunner().invoke(hello, ["--count", "2"])
    assert result.exit_code == 0 and result.output == "hi hi \n", result.output
    assert CliRunner().invoke(hello, ["--count", "x"]).exit_code == 2
if "idna" in NAMES:
    import idna

    assert idna.encode("bücher.example") == b"xn--bcher-kva.example"
if "h11" in NAMES:
    import h11

    connection = h11.Connection(h11.CLIENT)
    data = connection.send(h11.Request(method="GET", target="/", headers=[("Host", "app")]))
    assert data.startswith(b"GET / HTTP/1.1\r\n"), data

check_sources()
assert not UNRAISABLE, UNRAISABLE
print("OK")
'''
