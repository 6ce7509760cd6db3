"""One HTTP client per app across its modules (codemods/requests_hosts.py, issue 19): the
decision over the import graph, and a two-module app RUN before and after against a real
keep-alive server on loopback, through the app's own lifespan."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator

import httpx
import pytest
from asyncfix.cli import main
from click.testing import CliRunner

from codemods.requests_hosts import CYCLE_COMMENT, SCRIPT_COMMENT, TWO_APPS_COMMENT


class _Peer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections open, as real upstreams do

    def do_GET(self) -> None:
        body = json.dumps({"port": self.client_address[1], "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "session=upstream")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def upstream() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Peer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _apply(root: Path, *args: str) -> None:
    """asyncfix on the project at ``root``: requests_to_httpx, or what ``args`` select."""
    select = [] if "--migrate" in args else ["--select", "requests_to_httpx"]
    result = CliRunner().invoke(main, ["--apply", *select, *args, str(root)])
    assert result.exit_code == 0, result.output


TWO_MODULES = {
    "hosts_geo.py": """\
import os

import requests

UPSTREAM = os.environ["ASYNCFIX_UPSTREAM"]


async def geocode(address: str) -> dict:
    return requests.get(f"{UPSTREAM}/geo", params={"q": address}).json()
""",
    "hosts_main.py": """\
import requests
from fastapi import FastAPI

from hosts_geo import UPSTREAM, geocode

app = FastAPI()


@app.get("/near")
async def near(address: str):
    place = await geocode(address)
    stock = requests.get(f"{UPSTREAM}/stock").json()
    return {"geo": place["port"], "stock": stock["port"]}
""",
}


def _import_fresh(root: Path, monkeypatch):
    for name in ("hosts_geo", "hosts_main"):
        sys.modules.pop(name, None)
    monkeypatch.syspath_prepend(str(root))
    import hosts_main  # noqa: F401 - imported fresh from root

    return sys.modules["hosts_main"], sys.modules["hosts_geo"]


async def _serve(app, n: int) -> list:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return [(await client.get("/near?address=x")).json() for _ in range(n)]


def test_a_two_module_app_shares_one_client_and_its_lifespan_closes_it(
    tmp_path: Path, upstream: str, monkeypatch
):
    """Before: requests opens a connection per call, in both modules. After: the route's call
    and the helper module's call run on one client (the helper module holds it, the app module
    imports it), so every request of every module reuses one connection, the upstream's cookie is
    not kept, and the app's lifespan closes the client at shutdown."""
    monkeypatch.setenv("ASYNCFIX_UPSTREAM", upstream)
    _write(tmp_path, TWO_MODULES)
    main_before, _ = _import_fresh(tmp_path, monkeypatch)
    before = asyncio.run(_serve(main_before.app, 3))
    assert len({port for answer in before for port in answer.values()}) == 6

    _apply(tmp_path)
    text = (tmp_path / "hosts_main.py").read_text()
    assert "from hosts_geo import UPSTREAM, close_http_client, geocode, http_client" in text
    assert "    await close_http_client()\n" in text and "_HTTP_CLIENTS" not in text
    assert "def http_client()" in (tmp_path / "hosts_geo.py").read_text()
    main_after, geo_after = _import_fresh(tmp_path, monkeypatch)
    assert main_after.http_client is geo_after.http_client

    async def run() -> tuple:
        answers = await _serve(main_after.app, 3)
        return answers, geo_after._HTTP_CLIENTS

    clients: list = []
    real = geo_after.http_client

    def spy() -> httpx.AsyncClient:
        clients.append(real())
        return clients[-1]

    monkeypatch.setattr(geo_after, "http_client", spy)
    monkeypatch.setattr(main_after, "http_client", spy)
    after, registry = asyncio.run(run())
    assert len({port for answer in after for port in answer.values()}) == 1  # one connection
    assert len(clients) == 6 and len({id(client) for client in clients}) == 1
    assert clients[0].is_closed and len(registry) == 0  # closed by the app's lifespan
    assert not clients[0].cookies  # requests' functions kept no cookies either


def test_the_rewritten_project_is_a_fixed_point_and_a_later_call_reuses_the_host(
    tmp_path: Path, upstream: str, monkeypatch
):
    monkeypatch.setenv("ASYNCFIX_UPSTREAM", upstream)
    _write(tmp_path, TWO_MODULES)
    _apply(tmp_path)
    first = {name: (tmp_path / name).read_text() for name in TWO_MODULES}
    _write(
        tmp_path,
        {
            "hosts_stock.py": "import requests\n\nfrom hosts_geo import UPSTREAM\n\n\n"
            "async def stock() -> dict:\n"
            '    return requests.get(f"{UPSTREAM}/stock").json()\n',
            "hosts_main.py": first["hosts_main.py"].replace(
                "from hosts_geo import", "import hosts_stock\nfrom hosts_geo import"
            ),
        },
    )
    _apply(tmp_path)
    assert (tmp_path / "hosts_geo.py").read_text() == first["hosts_geo.py"]
    stock = (tmp_path / "hosts_stock.py").read_text()
    assert "from hosts_geo import UPSTREAM, http_client\n" in stock
    assert 'return (await http_client().get(f"{UPSTREAM}/stock")).json()' in stock
    assert (tmp_path / "hosts_main.py").read_text().count("close_http_client()") == 1


def test_a_helper_of_two_apps_keeps_a_client_per_call(tmp_path: Path):
    _write(
        tmp_path,
        {
            "notify.py": "import requests\n\n\nasync def notify(text):\n"
            '    requests.post("https://chat.example.com", json={"text": text})\n',
            "public.py": "from fastapi import FastAPI\n\nfrom notify import notify\n\n"
            "app = FastAPI()\n",
            "admin.py": "from fastapi import FastAPI\n\nimport notify\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    assert TWO_APPS_COMMENT in (tmp_path / "notify.py").read_text()
    assert "lifespan" not in (tmp_path / "public.py").read_text()


def test_when_every_host_makes_an_import_cycle_each_call_keeps_its_own_client(tmp_path: Path):
    """a imports b and b imports a: whichever held the client, the other's import of it would
    close a cycle. Each keeps a client per call, and the app module its own."""
    call = 'async def {0}():\n    return requests.get("https://{0}.example.com").json()\n'
    _write(
        tmp_path,
        {
            "a.py": "import requests\n\nimport b\n\n\n" + call.format("fa"),
            "b.py": "import requests\n\nimport a\n\n\n" + call.format("fb"),
            "app.py": "from fastapi import FastAPI\n\nimport a\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    for name in ("a.py", "b.py"):
        text = (tmp_path / name).read_text()
        assert CYCLE_COMMENT in text and "http_client" not in text
    assert "http_client" not in (tmp_path / "app.py").read_text()


def test_an_app_wired_with_on_event_gets_no_shared_client_from_another_module(tmp_path: Path):
    _write(
        tmp_path,
        {
            "helper.py": "import requests\n\n\nasync def fetch():\n"
            '    return requests.get("https://x.example.com").json()\n',
            "app.py": "from fastapi import FastAPI\n\nimport helper\n\napp = FastAPI()\n\n\n"
            '@app.on_event("startup")\nasync def start():\n    pass\n',
        },
    )
    _apply(tmp_path)
    assert "asyncfix does not extend how this app starts" in (tmp_path / "helper.py").read_text()
    assert "close_http_client" not in (tmp_path / "app.py").read_text()


def test_migrate_makes_a_sync_helper_of_the_app_use_the_shared_client(tmp_path: Path):
    """The overfast-api shape: a sync webhook helper in a module of the app, called from an
    async route; --migrate makes it async, and it runs on the app's client."""
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/helpers.py": "import requests\n\n\n"
            "def send_webhook(message: str):\n"
            '    return requests.post("https://hooks.example.com", data={"content": message})\n',
            "pkg/main.py": "from fastapi import FastAPI\n\nfrom pkg.helpers import send_webhook\n\n"
            "app = FastAPI()\n\n\n"
            '@app.get("/")\nasync def root():\n    send_webhook("hit")\n    return {}\n',
        },
    )
    _apply(tmp_path, "--migrate")
    helpers = (tmp_path / "pkg/helpers.py").read_text()
    assert "async def send_webhook(message: str):" in helpers
    assert "return await http_client().post(" in helpers
    app = (tmp_path / "pkg/main.py").read_text()
    assert "from pkg.helpers import close_http_client, send_webhook" in app
    assert "await close_http_client()" in app and "await send_webhook(" in app


SCRIPT_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/helpers.py": """\
import os

import requests

UPSTREAM = os.environ["ASYNCFIX_UPSTREAM"]


def send_webhook(message: str):
    return requests.get(f"{UPSTREAM}/hook", params={"content": message})
""",
    "pkg/main.py": """\
from fastapi import FastAPI

from pkg.helpers import send_webhook

app = FastAPI()


@app.get("/")
async def root():
    return {"path": send_webhook("hit").json()["path"]}
""",
    "pkg/notify.py": """\
from pkg.helpers import send_webhook


def main():
    print(send_webhook("from the script").json()["path"])


if __name__ == "__main__":
    main()
""",
}


def test_a_helper_a_script_runs_with_asyncio_run_keeps_a_client_per_call(
    tmp_path: Path, upstream: str, monkeypatch
):
    """The overfast-api ``commands/check_new_hero.py`` shape: a CLI script calls the app's
    webhook helper; under --migrate its ``main`` becomes async, run by ``asyncio.run``. Nothing
    there closes the app's shared client, so the helper keeps a client per call (closed by its
    ``async with``), and the app gets no lifespan for a client it does not share. Run: the
    script (resource warnings shown: none) and the app both reach the upstream; a second run changes
    nothing."""
    _write(tmp_path, SCRIPT_PROJECT)
    _apply(tmp_path, "--migrate")
    helpers = (tmp_path / "pkg/helpers.py").read_text()
    assert SCRIPT_COMMENT in helpers and "async with httpx.AsyncClient(" in helpers
    assert "http_client()" not in helpers
    script = (tmp_path / "pkg/notify.py").read_text()
    assert "asyncio.run(main())" in script
    assert (tmp_path / "pkg/main.py").read_text() == SCRIPT_PROJECT["pkg/main.py"].replace(
        'send_webhook("hit").json()', '(await send_webhook("hit")).json()'
    )
    env = {**os.environ, "ASYNCFIX_UPSTREAM": upstream, "PYTHONPATH": str(tmp_path)}
    ran = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-m", "pkg.notify"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "/hook?content=from+the+script" and not ran.stderr, ran.stderr
    monkeypatch.setenv("ASYNCFIX_UPSTREAM", upstream)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("pkg", "pkg.helpers", "pkg.main"):
        sys.modules.pop(name, None)
    import pkg.main  # noqa: F401 - imported fresh from tmp_path

    async def call() -> dict:
        app = sys.modules["pkg.main"].app
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return (await client.get("/")).json()

    assert asyncio.run(call()) == {"path": "/hook?content=hit"}
    files = {path: path.read_text() for path in tmp_path.rglob("*.py")}
    _apply(tmp_path, "--migrate")
    assert {path: path.read_text() for path in tmp_path.rglob("*.py")} == files


def test_a_module_whose_http_client_is_another_name_keeps_its_own_client(tmp_path: Path):
    """The app module's lifespan still closes the shared client the helper module holds."""
    _write(
        tmp_path,
        {
            "helper.py": "import requests\n\n\nasync def fetch():\n"
            '    return requests.get("https://x.example.com").json()\n',
            "other.py": "import requests\n\nimport helper\n\nhttp_client = None\n\n\n"
            "async def fetch_other():\n"
            '    return requests.get("https://y.example.com").json()\n',
            "app.py": "from fastapi import FastAPI\n\nimport other\n\napp = FastAPI()\n",
        },
    )
    _apply(tmp_path)
    assert "http_client = None" in (tmp_path / "other.py").read_text()
    assert "`http_client` names something else" in (tmp_path / "other.py").read_text()
    assert "def http_client()" in (tmp_path / "helper.py").read_text()
    assert "await close_http_client()" in (tmp_path / "app.py").read_text()
