"""``--migrate`` for requests (issue 17): a sync FastAPI app whose helpers call requests becomes
an httpx.AsyncClient app, with its callers awaited up to the routes, its CLI run with
asyncio.run and its tests' requests mocks turned into patches of the new call. Each app is
written for the test, with its own pytest suite run before and after ``asyncfix --apply
--migrate`` against a real HTTP server on loopback; what cannot be converted exactly is left
as it is and reported (HTTPX002)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

from loop_stall import run_app_tests

from codemods.requests_hosts import SCRIPT_COMMENT

UPSTREAM = """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.path.encode())

        def log_message(self, *args):
            pass


    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    URL = f"http://127.0.0.1:{server.server_address[1]}/"
    """

CLIENT = """
    import requests

    from upstream import URL


    def fetch(path: str) -> dict:
        try:
            response = requests.get(URL + path, timeout=10)
        except requests.exceptions.Timeout as error:
            raise RuntimeError("upstream timed out") from error
        return {"status": response.status_code, "body": response.text}
    """

SERVICE = """
    from client import fetch


    class Service:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        def lookup(self, name: str) -> dict:
            return fetch(self.prefix + name)


    def summary(name: str) -> dict:
        service = Service("items/")
        result = service.lookup(name)
        return {"name": name, **result}
    """

MAIN = """
    from fastapi import FastAPI, HTTPException

    from service import summary

    app = FastAPI()


    @app.get("/items/{name}")
    def item(name: str):
        try:
            return summary(name)
        except RuntimeError as error:
            raise HTTPException(status_code=504, detail=str(error))


    @app.get("/health")
    def health():
        return {"ok": True}
    """

CLI = """
    from client import fetch


    def main() -> None:
        print(fetch("cli")["body"])


    if __name__ == "__main__":
        main()
    """

TESTS = """
    from unittest.mock import Mock, patch

    import requests
    from fastapi.testclient import TestClient

    import cli
    from main import app

    client = TestClient(app)


    def test_real_upstream():
        assert client.get("/items/a").json() == {"name": "a", "status": 200, "body": "/items/a"}


    def test_mocked_response():
        with patch("client.requests.get", return_value=Mock(status_code=201, text="mocked")):
            response = client.get("/items/b")
        assert response.json() == {"name": "b", "status": 201, "body": "mocked"}


    @patch("requests.get")
    def test_mocked_timeout(get):
        get.side_effect = requests.exceptions.Timeout("slow")
        response = client.get("/items/c")
        assert response.status_code == 504
        assert response.json() == {"detail": "upstream timed out"}
        assert get.call_count == 1


    def test_mocked_bound_return_value():
        with patch.object(requests, "get") as get:
            get.return_value.status_code = 202
            get.return_value.text = "bound"
            assert client.get("/items/d").json()["body"] == "bound"


    def test_cli(capsys):
        cli.main()
        assert capsys.readouterr().out == "/cli\\n"
    """


def _app(**changes: str) -> Dict[str, str]:
    files = {
        "pyproject.toml": "",
        "upstream.py": UPSTREAM,
        "client.py": CLIENT,
        "service.py": SERVICE,
        "main.py": MAIN,
        "cli.py": CLI,
        "test_app.py": TESTS,
    }
    files.update(changes)
    return files


def write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text).lstrip())


def snapshot(root: Path) -> Dict[str, str]:
    return {p.name: p.read_text() for p in sorted(root.glob("*.py"))}


def apply(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asyncfix", "--apply", "--no-cache", *args, "."],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )


def run_cli(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "cli.py"], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_sync_requests_app_is_migrated_with_its_mocked_tests(tmp_path: Path):
    write(tmp_path, _app())
    before_tests = run_app_tests(tmp_path)
    assert before_tests.returncode == 0, before_tests.stdout
    cli_before = run_cli(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(tmp_path)
    client = after["client.py"]
    assert "import requests" not in client
    assert "async def fetch(path: str) -> dict:" in client
    # cli.py runs fetch with asyncio.run, where nothing would close the app's shared client:
    # a client per call, closed by its `async with` (requests_hosts.py), and so no lifespan
    assert SCRIPT_COMMENT in client and "http_client" not in client
    assert "response = await client.get(URL + path, timeout=10)" in client
    assert "close_http_client" not in after["main.py"] and "lifespan" not in after["main.py"]
    assert client.startswith("import httpx\n\nfrom upstream import URL\n")
    assert "except httpx.TimeoutException as error:" in client
    assert "async def lookup(self, name: str) -> dict:" in after["service.py"]
    assert "result = await service.lookup(name)" in after["service.py"]
    assert "async def item(name: str):" in after["main.py"]
    assert "return await summary(name)" in after["main.py"]
    assert "async def health():" not in after["main.py"]  # not in the closure: stays as it was
    assert "    asyncio.run(main())" in after["cli.py"]
    tests = after["test_app.py"]
    assert '"httpx.AsyncClient.get", return_value=Mock(status_code=201, text="mocked")' in tests
    assert '@patch("httpx.AsyncClient.get")' in tests
    assert 'get.side_effect = httpx.TimeoutException("slow")' in tests
    assert 'patch.object(httpx.AsyncClient, "get") as get:' in tests
    assert "    asyncio.run(cli.main())" in tests
    assert "def test_cli(capsys):" in tests  # the test itself stays sync
    assert "import requests" not in tests
    # isort's place: the removed `import requests` began the third-party section
    assert tests.startswith(
        "import asyncio\nfrom unittest.mock import Mock, patch\n\nimport httpx\nfrom fastapi"
    )
    after_tests = run_app_tests(tmp_path)
    assert after_tests.returncode == 0, after_tests.stdout
    assert "5 passed" in after_tests.stdout
    assert run_cli(tmp_path) == cli_before
    assert "HTTPX002" not in result.stdout
    again = apply(tmp_path, "--migrate")
    assert again.returncode == 0 and again.stdout == "", again.stdout  # one run is a fixed point


def test_without_migrate_a_sync_requests_app_stays_as_it_is(tmp_path: Path):
    write(tmp_path, _app())
    before = snapshot(tmp_path)
    result = apply(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(tmp_path) == before  # sync routes run in FastAPI's threadpool: nothing blocks


def test_a_mock_whose_call_arguments_are_checked_keeps_the_closure_sync(tmp_path: Path):
    checked = TESTS + textwrap.indent(
        textwrap.dedent("""

        def test_call_arguments():
            with patch("client.requests.get") as get:
                get.return_value.status_code = 200
                client.get("/items/e")
            get.assert_called_once_with("http://x/items/e", timeout=10)
        """),
        "    ",
    )
    write(tmp_path, _app(**{"test_app.py": checked}))
    before = snapshot(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    # Closure or nothing: the helper, its callers, the routes and every test stay as they were.
    assert snapshot(tmp_path) == before
    assert (
        "client.py:6:1: HTTPX002 --migrate: `fetch` uses requests but stays sync" in result.stdout
    )
    assert (
        "test_call_arguments" in result.stdout and "call arguments differ in httpx" in result.stdout
    )


def test_a_mocking_library_keeps_the_closure_sync(tmp_path: Path):
    library = "import responses  # noqa: F401  (not installed: this file is never run)\n"
    write(tmp_path, _app(**{"mocks_responses.py": library}))
    before = snapshot(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(tmp_path) == before
    assert "HTTPX002" in result.stdout and "`responses` mocks requests" in result.stdout


def test_a_method_of_an_override_family_keeps_the_closure_sync(tmp_path: Path):
    family = """
        from client import fetch


        class Base:
            def lookup(self, name: str) -> dict:
                return {"status": 0, "body": name}


        class Service(Base):
            def __init__(self, prefix: str) -> None:
                self.prefix = prefix

            def lookup(self, name: str) -> dict:
                return fetch(self.prefix + name)


        def summary(name: str) -> dict:
            service = Service("items/")
            result = service.lookup(name)
            return {"name": name, **result}
        """
    write(
        tmp_path,
        _app(
            **{
                "service.py": family,
                "cli.py": "",
                "test_app.py": TESTS.split("\n\n\n    def test_cli")[0],
            }
        ),
    )
    before = snapshot(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    # `Base.lookup` callers would get a coroutine from a Service: the family changes together or not.
    assert snapshot(tmp_path) == before
    assert "overrides or is overridden by `Base.lookup`" in result.stdout
    assert run_app_tests(tmp_path).returncode == 0


def test_a_caller_that_cannot_await_is_reported_with_the_chain(tmp_path: Path):
    cached = MAIN.replace(
        "from service import summary",
        "from functools import lru_cache\n\n    from service import summary",
    ).replace(
        '@app.get("/health")',
        '@lru_cache\n    def cached(name: str) -> dict:\n        return summary(name)\n\n\n    @app.get("/health")',
    )
    write(tmp_path, _app(**{"main.py": cached}))
    before = snapshot(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(tmp_path) == before
    assert (
        "`cached` is decorated with `@lru_cache` <- `summary` <- `Service.lookup` <- `fetch`"
        in result.stdout
    )


def test_a_from_import_patched_where_it_is_used_is_converted(tmp_path: Path):
    from_import = (
        CLIENT.replace(
            "import requests\n",
            "from requests import get\n    from requests.exceptions import Timeout\n",
        )
        .replace("requests.get(", "get(")
        .replace("except requests.exceptions.Timeout", "except Timeout")
    )
    tests = """
        from unittest.mock import Mock, patch

        import requests
        from fastapi.testclient import TestClient

        from main import app

        client = TestClient(app)


        def test_mocked_where_used():
            with patch("client.get", return_value=Mock(status_code=203, text="here")):
                assert client.get("/items/f").json()["body"] == "here"


        def test_mocked_connection_error():
            with patch("client.get", side_effect=requests.ConnectionError("down")):
                try:
                    client.get("/items/g")
                except Exception as error:
                    assert "down" in str(error)
                else:
                    raise AssertionError("the error did not propagate")
        """
    write(tmp_path, _app(**{"client.py": from_import, "test_app.py": tests, "cli.py": ""}))
    assert run_app_tests(tmp_path).returncode == 0
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(tmp_path)
    assert "from requests" not in after["client.py"]
    assert (
        '"httpx.AsyncClient.get", return_value=Mock(status_code=203, text="here")'
        in after["test_app.py"]
    )
    assert 'side_effect=httpx.NetworkError("down")' in after["test_app.py"]
    done = run_app_tests(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout


def test_a_method_named_by_a_call_the_resolver_cannot_follow_keeps_the_closure_sync(tmp_path: Path):
    factory = SERVICE.replace('service = Service("items/")', "service = make_service()").replace(
        "def summary(",
        'def make_service():\n        return Service("items/")\n\n\n    def summary(',
    )
    write(tmp_path, _app(**{"service.py": factory}))
    assert run_app_tests(tmp_path).returncode == 0
    before = snapshot(tmp_path)
    result = apply(tmp_path, "--migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    # `make_service().lookup` is unknown to the resolver: it may reach `Service.lookup` unawaited.
    assert snapshot(tmp_path) == before
    assert "`service.lookup()` (service.py:" in result.stdout
    assert "cannot be resolved and may call `Service.lookup`" in result.stdout
