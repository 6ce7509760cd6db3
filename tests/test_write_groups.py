"""Rewrites that are correct only together are written together or not at all (principle 1;
codemods/groups.py, codemods/writer.write_group).

Two apps of two modules each: a helper made ``async def`` in one module and awaited in the other
(propagate.py), and a shared HTTP client hosted by one module and imported by the other
(requests_hosts.py). When one member cannot be written (the file changed on disk since it was
read, a write refused by the OS) or its rewrite fails (a codemod raising), no member changes on
disk, byte for byte, every member is reported, the exit code is 2, an unrelated file of the same
run is still written, and the app still imports and answers requests (RUN in a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from asyncfix import cli, verify
from asyncfix.codemods import engine, writer
from asyncfix.codemods.await_coroutines import AwaitCoroutines
from asyncfix.codemods.base import Codemod
from click.testing import CliRunner

HELPER_APP = {
    "app/__init__.py": "",
    "app/helpers.py": "import asyncio\n\n\ndef refresh(n):\n    asyncio.sleep(0)\n    return n + 1\n",
    "app/main.py": (
        "from fastapi import FastAPI\n\nfrom app.helpers import refresh\n\napp = FastAPI()\n\n\n"
        '@app.get("/n")\nasync def read_n():\n    return {"n": refresh(1)}\n'
    ),
}
CLIENT_APP = {
    "geo.py": (
        "import os\n\nimport requests\n\nUPSTREAM = os.environ.get('UPSTREAM', 'http://x')\n\n\n"
        "async def geocode(address):\n"
        '    return requests.get(f"{UPSTREAM}/geo", params={"q": address}).json()\n'
    ),
    "web.py": (
        "import requests\nfrom fastapi import FastAPI\n\nfrom geo import UPSTREAM, geocode\n\n"
        'app = FastAPI()\n\n\n@app.get("/near")\nasync def near(address: str):\n'
        "    place = await geocode(address)\n"
        '    return {"geo": place, "stock": requests.get(f"{UPSTREAM}/stock").json()}\n'
    ),
}
# Not tied to anything else in the run: written whatever happens to the groups.
UNRELATED = ("other.py", "import time\n\n\nasync def pause():\n    time.sleep(0)\n")

# GET /n through the app's own ASGI stack, in a fresh interpreter on the tree as it stands.
SERVE = """
import asyncio, json, sys
import httpx
sys.path.insert(0, sys.argv[1])
from app.main import app

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        answer = await client.get("/n")
        print(json.dumps([answer.status_code, answer.json()]))

asyncio.run(main())
"""


def _tree(root: Path, files: Dict[str, str]) -> Dict[str, bytes]:
    for name, text in {**files, UNRELATED[0]: UNRELATED[1]}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return {name: (root / name).read_bytes() for name in files}


def _raise_in(monkeypatch, codemod, function: str) -> None:
    """Make ``codemod`` raise when it leaves the def named ``function`` (a codemod failing on
    one file of a group)."""
    real = codemod.leave_FunctionDef

    def raising(self, original, updated):
        if original.name.value == function:
            raise RuntimeError("boom")
        return real(self, original, updated)

    monkeypatch.setattr(codemod, "leave_FunctionDef", raising)


def _stat(root: Path, files) -> Dict[str, tuple]:
    return {name: ((root / name).read_bytes(), (root / name).stat().st_mode) for name in files}


def invoke(*args: str):
    return CliRunner().invoke(
        cli.main, ["-j", "1", "--no-cache", "--no-format", *args], catch_exceptions=False
    )


def _serve(root: Path) -> list:
    run = subprocess.run(
        [sys.executable, "-c", SERVE, str(root)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _refuse(monkeypatch, name: str, error: Exception) -> list:
    """write_atomic (the writer's, and --verify's hook's) fails for the file ``name``; returns
    the names of the files written."""
    real, written = writer.write_atomic, []

    def write(path, data, expected):
        if os.path.basename(path) == name:
            raise error
        real(path, data, expected)
        written.append(os.path.basename(path))

    monkeypatch.setattr(writer, "write_atomic", write)
    monkeypatch.setattr(verify, "write_atomic", write)
    return written


def test_the_helper_and_its_caller_are_one_group(tmp_path: Path):
    _tree(tmp_path, HELPER_APP)
    settings = engine.Settings(
        codemods=("await_coroutines", "sleep_to_asyncio"), root=str(tmp_path)
    )
    files, _ = cli.discover([str(tmp_path)], [])
    results = {os.path.basename(r.path): r for r in engine.run(files, settings, 1)}
    pair = (str(tmp_path / "app/helpers.py"), str(tmp_path / "app/main.py"))
    assert results["helpers.py"].group == results["main.py"].group == pair
    assert results["other.py"].status == engine.CHANGED and results["other.py"].group == ()


def test_a_member_whose_write_fails_after_another_was_written_puts_it_back(
    tmp_path: Path, monkeypatch
):
    """helpers.py is written first (sorted order), then main.py's write is refused: helpers.py
    is put back byte for byte (bytes, mode, mtime); both FAILED; other.py written; exit 2."""
    before = _tree(tmp_path, HELPER_APP)
    (tmp_path / "app/helpers.py").chmod(0o640)
    os.utime(tmp_path / "app/helpers.py", ns=(1_600_000_000_000_000_000,) * 2)
    stats = _stat(tmp_path, HELPER_APP)
    written = _refuse(monkeypatch, "main.py", PermissionError(13, "Permission denied"))
    result = invoke("--apply", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "helpers.py" in written  # the case under test: a member was written, then undone
    assert _stat(tmp_path, HELPER_APP) == stats
    assert (tmp_path / "app/helpers.py").stat().st_mtime_ns == 1_600_000_000_000_000_000
    main, helpers = tmp_path / "app/main.py", tmp_path / "app/helpers.py"
    assert f"error: {main}: cannot write: Permission denied" in result.stderr
    assert (
        f"error: {helpers}: cannot write: goes with {main}, which failed (Permission denied); "
        "put back as it was" in result.stderr
    )
    assert "rewrote" not in result.output.replace(f"rewrote {tmp_path / 'other.py'}", "")
    assert "await asyncio.sleep(0)" in (tmp_path / "other.py").read_text()
    assert {name: (tmp_path / name).read_bytes() for name in HELPER_APP} == before
    assert not [p for p in (tmp_path / "app").iterdir() if p.name.startswith(".asyncfix-")]
    monkeypatch.undo()
    assert _serve(tmp_path) == [200, {"n": 2}]  # the app runs as before the failed run
    # ... and a later run, with nothing refused, writes the pair and the app still runs
    assert invoke("--apply", str(tmp_path)).exit_code == 0
    assert "async def refresh" in (tmp_path / "app/helpers.py").read_text()
    assert _serve(tmp_path) == [200, {"n": 2}]


def test_a_member_changed_on_disk_since_it_was_read_stops_the_whole_group(
    tmp_path: Path, monkeypatch
):
    """main.py is edited between the run's read and the write: the user's edit is kept, the
    helper is not made async alone (nothing of the group is written)."""
    before = _tree(tmp_path, HELPER_APP)
    real_run = engine.run

    def run_then_edit(*args, **kwargs):
        results = list(real_run(*args, **kwargs))
        with open(tmp_path / "app/main.py", "a") as handle:
            handle.write("# edited meanwhile\n")
        yield from results

    monkeypatch.setattr(engine, "run", run_then_edit)
    result = invoke("--apply", str(tmp_path))
    assert result.exit_code == 2
    assert (tmp_path / "app/helpers.py").read_bytes() == before["app/helpers.py"]
    assert (tmp_path / "app/main.py").read_bytes() == before[
        "app/main.py"
    ] + b"# edited meanwhile\n"
    main = tmp_path / "app/main.py"
    assert f"error: {main}: cannot write: the file changed on disk during the run" in result.stderr
    assert f"error: {tmp_path / 'app/helpers.py'}: cannot write: goes with {main}" in result.stderr
    assert "await asyncio.sleep(0)" in (tmp_path / "other.py").read_text()
    monkeypatch.undo()
    assert _serve(tmp_path) == [200, {"n": 2}]


@pytest.mark.parametrize("mode", ["--dry-run", "--check", "--apply"])
def test_a_member_whose_rewrite_fails_fails_the_group_in_every_mode(
    tmp_path: Path, monkeypatch, mode: str
):
    """The codemod raises in helpers.py: main.py's await alone would await an int, so it is
    not rewritten either; --dry-run shows no diff for either and says why."""
    before = _tree(tmp_path, HELPER_APP)
    _raise_in(monkeypatch, AwaitCoroutines, "refresh")
    result = invoke(mode, str(tmp_path))
    assert result.exit_code == 2
    helpers, main = tmp_path / "app/helpers.py", tmp_path / "app/main.py"
    assert f"error: {helpers}: internal error: codemod await_coroutines raised" in result.stderr
    assert (
        f"error: {main}: not rewritten: goes with {helpers}, which failed (internal error: "
        in result.stderr
    )
    assert "app/main.py" not in result.stdout and "app/helpers.py" not in result.stdout
    assert {name: (tmp_path / name).read_bytes() for name in HELPER_APP} == before
    if mode == "--dry-run":
        assert "+    await asyncio.sleep(0)" in result.stdout  # other.py's diff still shown
    elif mode == "--apply":
        assert "await asyncio.sleep(0)" in (tmp_path / "other.py").read_text()
        monkeypatch.undo()
        assert _serve(tmp_path) == [200, {"n": 2}]


def test_the_host_of_the_shared_client_failing_to_write_keeps_its_users_as_they_were(
    tmp_path: Path, monkeypatch
):
    """geo.py hosts http_client(), web.py imports it: geo.py's write is refused, so web.py
    (which would import a name geo.py does not define) is not written either; both still
    import."""
    before = _tree(tmp_path, CLIENT_APP)
    files, _ = cli.discover([str(tmp_path)], [])
    settings = engine.Settings(codemods=("requests_to_httpx",), root=str(tmp_path))
    results = {os.path.basename(r.path): r for r in engine.run(files, settings, 1)}
    assert results["web.py"].group == (str(tmp_path / "geo.py"), str(tmp_path / "web.py"))
    assert str(tmp_path / "geo.py") in results["web.py"].needs  # it imports http_client
    written = _refuse(monkeypatch, "geo.py", OSError(28, "No space left on device"))
    result = invoke("--apply", "--select", "requests_to_httpx,sleep_to_asyncio", str(tmp_path))
    assert result.exit_code == 2
    assert written == ["other.py"]
    assert {name: (tmp_path / name).read_bytes() for name in CLIENT_APP} == before
    geo, web = tmp_path / "geo.py", tmp_path / "web.py"
    assert f"error: {geo}: cannot write: No space left on device" in result.stderr
    assert (
        f"error: {web}: cannot write: goes with {geo}, which failed (No space left on device)"
        in result.stderr
    )
    monkeypatch.undo()
    run = subprocess.run(
        [sys.executable, "-c", "import web; print(web.app.title)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout == "FastAPI\n", run.stderr


def test_verify_is_not_left_with_a_write_the_group_undid(tmp_path: Path, monkeypatch):
    """--verify remembers each write to restore it when the check fails after: a member the
    writer already put back is forgotten, so the roll-back restores the unrelated file and
    reports no false 'changed on disk since asyncfix wrote it' about the member."""
    before = _tree(tmp_path, HELPER_APP)
    other = tmp_path / "other.py"
    original = other.read_bytes()
    _refuse(monkeypatch, "main.py", PermissionError(13, "Permission denied"))
    # passes on the tree as it was, fails once other.py is rewritten
    check = (
        f"{sys.executable} -c \"import sys; sys.exit(b'asyncio' in open(r'{other}', 'rb').read())\""
    )
    result = invoke("--apply", "--verify", check, str(tmp_path))
    assert result.exit_code == 2
    assert "verify: rolled back: 1 file restored byte for byte" in result.stderr, result.stderr
    assert "not restored" not in result.stderr and "changed on disk since" not in result.stderr
    assert {name: (tmp_path / name).read_bytes() for name in HELPER_APP} == before
    assert other.read_bytes() == original


def test_a_user_of_the_shared_client_whose_rewrite_fails_keeps_the_host_as_it_was(
    tmp_path: Path, monkeypatch
):
    """web.py's rewrite raises: geo.py would define a client nobody closes and keep a
    half-migrated app, so it is not rewritten either (the host's role names its users)."""
    before = _tree(tmp_path, CLIENT_APP)
    real = Codemod.transform_module

    def raising(self, tree):
        if self.NAME == "requests_to_httpx" and self.file.filename.endswith("web.py"):
            raise RuntimeError("boom")
        return real(self, tree)

    monkeypatch.setattr(Codemod, "transform_module", raising)
    result = invoke("--apply", "--select", "requests_to_httpx,sleep_to_asyncio", str(tmp_path))
    assert result.exit_code == 2
    geo, web = tmp_path / "geo.py", tmp_path / "web.py"
    assert f"error: {web}: internal error: codemod requests_to_httpx raised" in result.stderr
    assert f"error: {geo}: not rewritten: goes with {web}, which failed" in result.stderr
    assert {name: (tmp_path / name).read_bytes() for name in CLIENT_APP} == before
    assert "await asyncio.sleep(0)" in (tmp_path / "other.py").read_text()


def test_interactive_asks_once_for_a_group(tmp_path: Path):
    """-i: the helper and its caller are one question; 'n' leaves both, the unrelated file
    is asked about on its own."""
    before = _tree(tmp_path, HELPER_APP)
    result = CliRunner().invoke(
        cli.main,
        ["-j", "1", "--no-cache", "--no-format", "-i", str(tmp_path)],
        input="n\ny\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    helpers, main = tmp_path / "app/helpers.py", tmp_path / "app/main.py"
    assert result.output.count("Apply these changes to") == 1
    assert f"Apply these changes to {helpers}, {main} (each is correct only" in result.output
    assert f"Apply this change to {tmp_path / 'other.py'}?" in result.output
    assert {name: (tmp_path / name).read_bytes() for name in HELPER_APP} == before
    assert "await asyncio.sleep(0)" in (tmp_path / "other.py").read_text()


@pytest.mark.slow  # the whole --migrate of an app, then its tests: 100 s measured at load ~5
def test_the_sqlalchemy_conversion_is_one_group_and_its_engine_module_failing_stops_it(
    tmp_path: Path, monkeypatch
):
    """--migrate on the FastAPI tutorial app: the engine made async in database.py, the
    sessions, CRUD and tests using it are one group; database.py's write refused, no file of
    the app changes, and the tests still pass on the untouched app."""
    import shutil

    shutil.copytree(Path(__file__).parent / "migrate_apps" / "tutorial", tmp_path / "app")
    root = tmp_path / "app"
    before = {p: p.read_bytes() for p in root.rglob("*.py")}
    settings = engine.Settings(codemods=tuple(cli.NAMES), root=str(root), options={"migrate": True})
    files, _ = cli.discover([str(root)], [])
    results = list(engine.run(files, settings, 1))
    changed = [r for r in results if r.status == engine.CHANGED]
    assert len(changed) >= 4 and str(root / "sql_app/database.py") in changed[0].group
    assert {r.group for r in changed} == {tuple(sorted(r.path for r in changed))}
    _refuse(monkeypatch, "database.py", PermissionError(13, "Permission denied"))
    result = invoke("--apply", "--migrate", str(root))
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in root.rglob("*.py")} == before
    for member in changed:
        assert f"error: {member.path}: cannot write:" in result.stderr
    monkeypatch.undo()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# Three files of one SQLAlchemy conversion (no --migrate: async routes on a sync Session): the
# engine module and two routers. A router's rewrite imports nothing from the engine module and
# awaits nothing there: the conversion's tag is all that ties it to the others.
SQLA_APP = {
    "database.py": (
        "import os\n\nfrom sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import declarative_base, sessionmaker\n\n"
        "engine = create_engine(\n"
        '    "sqlite:///" + os.environ.get("APP_DB", "app.db"),\n'
        '    connect_args={"check_same_thread": False},\n'
        ")\n"
        "SessionLocal = sessionmaker(bind=engine, autocommit=False, autoflush=False)\n"
        "Base = declarative_base()\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
        "    finally:\n        db.close()\n"
    ),
    "models.py": (
        "from sqlalchemy import Column, Integer, String\n\nfrom database import Base\n\n\n"
        'class Item(Base):\n    __tablename__ = "items"\n'
        "    id = Column(Integer, primary_key=True)\n    name = Column(String)\n"
    ),
    "items.py": (
        "from fastapi import APIRouter, Depends\nfrom sqlalchemy.orm import Session\n\n"
        "from database import get_db\nfrom models import Item\n\nrouter = APIRouter()\n\n\n"
        '@router.get("/items")\nasync def list_items(db: Session = Depends(get_db)):\n'
        "    return [item.name for item in db.query(Item).order_by(Item.id).all()]\n"
    ),
    "counts.py": (
        "from fastapi import APIRouter, Depends\nfrom sqlalchemy.orm import Session\n\n"
        "from database import get_db\nfrom models import Item\n\nrouter = APIRouter()\n\n\n"
        '@router.get("/count")\nasync def count_items(db: Session = Depends(get_db)):\n'
        '    return {"count": db.query(Item).count()}\n'
    ),
    "main.py": (
        "from fastapi import FastAPI\n\nimport counts\nimport items\n\napp = FastAPI()\n"
        "app.include_router(items.router)\napp.include_router(counts.router)\n"
    ),
}
# Tables and two rows made with a sync engine, then GET /items and /count through the app.
SERVE_SQLA = """
import asyncio, json, os, sys
import httpx
os.chdir(sys.argv[1]); sys.path.insert(0, sys.argv[1])
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
import models
from main import app

engine = create_engine("sqlite:///app.db")
models.Base.metadata.create_all(engine)
with Session(engine) as session:
    session.add_all([models.Item(name="a"), models.Item(name="b")])
    session.commit()

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        answers = [await client.get("/items"), await client.get("/count")]
        print(json.dumps([[a.status_code, a.json()] for a in answers]))

asyncio.run(main())
"""


def test_a_sqlalchemy_member_whose_rewrite_fails_stops_the_whole_conversion(
    tmp_path: Path, monkeypatch
):
    """The codemod raises in items.py before it could tag the file as part of the conversion:
    the tag comes from the plan (groups.ties_of_failed), so database.py and counts.py are not
    written either (written, they would hand items.py an AsyncSession it calls .query() on).
    JSON and SARIF name each file's group and the member that failed."""
    from asyncfix.codemods.sqlalchemy_to_async import SqlalchemyToAsync
    from test_output import json_validator, sarif_validator

    before = _tree(tmp_path, SQLA_APP)
    _raise_in(monkeypatch, SqlalchemyToAsync, "list_items")
    monkeypatch.chdir(tmp_path)
    result = invoke("--apply", "--output-format", "json", ".")
    assert result.exit_code == 2, result.stdout + result.stderr
    document = json.loads(result.stdout)
    json_validator().validate(document)
    files = {entry["file"]: entry for entry in document["files"]}
    members = ["counts.py", "database.py", "items.py"]
    assert "internal error: codemod sqlalchemy_to_async raised" in files["items.py"]["error"]
    assert files["items.py"]["group"] == {"members": members, "failed_member": None}
    for name in ("counts.py", "database.py"):
        assert files[name]["status"] == "failed"
        assert files[name]["error"].startswith("not rewritten: goes with items.py, which failed")
        assert files[name]["group"] == {"members": members, "failed_member": "items.py"}
    assert files["other.py"]["status"] == "changed" and files["other.py"]["group"] is None
    assert {name: (tmp_path / name).read_bytes() for name in SQLA_APP} == before

    sarif = json.loads(invoke("--output-format", "sarif", ".").stdout)
    sarif_validator().validate(sarif)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    groups = {n["message"]["text"].split(":")[0]: n["properties"]["group"] for n in notes}
    assert groups == {
        "counts.py": {"members": members, "failed_member": "items.py"},
        "database.py": {"members": members, "failed_member": "items.py"},
        "items.py": {"members": members, "failed_member": None},
    }
    monkeypatch.undo()
    run = subprocess.run(
        [sys.executable, "-c", SERVE_SQLA, str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [[200, ["a", "b"]], [200, {"count": 2}]]


def test_sarif_and_json_show_the_group_a_rewrite_is_written_with(tmp_path: Path, monkeypatch):
    from test_output import json_validator, sarif_validator

    _tree(tmp_path, HELPER_APP)
    monkeypatch.chdir(tmp_path)
    document = json.loads(invoke("--output-format", "json", ".").stdout)
    json_validator().validate(document)
    pair = {"members": ["app/helpers.py", "app/main.py"], "failed_member": None}
    groups = {entry["file"]: entry["group"] for entry in document["files"]}
    assert groups == {
        "app/__init__.py": None,
        "app/helpers.py": pair,
        "app/main.py": pair,
        "other.py": None,
    }
    sarif = json.loads(invoke("--output-format", "sarif", ".").stdout)
    sarif_validator().validate(sarif)
    rewrites = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "asyncfix-rewrite"]
    shown = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"].get(
            "group"
        )
        for r in rewrites
    }
    assert shown == {"app/helpers.py": pair, "app/main.py": pair, "other.py": None}


@pytest.mark.parametrize(
    ("source", "tied"),
    [
        pytest.param("import os\n", {("geo", 0)}, id="new-statement"),
        pytest.param("from geo import UPSTREAM\n", {("geo", 0)}, id="new-name-on-its-line"),
        pytest.param("from geo import UPSTREAM, http_client\n", set(), id="already-imported"),
        pytest.param("from geo import http_client as client\n", set(), id="already-under-alias"),
    ],
)
def test_only_a_new_import_ties_a_file_to_the_module_it_imports_from(source: str, tied: set):
    """An import a codemod asks for ties the file to that module's rewrite (groups.plan) only
    when the module did not import the name yet: one it had says nothing about this run."""
    import libcst as cst
    from asyncfix.codemods.first_pass import FileContext
    from asyncfix.codemods.program_facts import ProjectIndex
    from libcst.codemod import CodemodContext

    class AddsImport(Codemod):
        NAME = "test_adds_import"
        DESCRIPTION = "asks for `from geo import http_client`"

        def leave_Module(self, original, updated):
            self.add_needed_import("geo", "http_client")
            return updated

    file = FileContext(path="web.py", filename="web.py", source=source, project=ProjectIndex())
    tree = AddsImport(CodemodContext(filename="web.py"), file).transform_module(
        cst.parse_module(source)
    )
    assert "http_client" in tree.code
    assert file.imported == tied
