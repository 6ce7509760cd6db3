"""requests_to_httpx: unit cases (rewrite, report, no-op) and the runtime claims, executed
against a real HTTP server on loopback and a real FastAPI app served through httpx's ASGI
transport."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Tuple
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asyncfix.cli import main
from click.testing import CliRunner
from conftest import check_noop, check_transformed, load_module, rewrite

SELECT = {"select": ["requests_to_httpx"]}
CLIENT = "httpx.AsyncClient(verify=_HTTPX_SSL_CONTEXT, follow_redirects=True, timeout=None)"
# Above a client made per function call: why it is not shared (issue 19).
PER_CALL = "    # A client per call: no app in this module to open and close a shared one.\n"
HEADER = (
    "import httpx\n\n"
    "# One SSL context for this module's httpx clients: each costs tens of ms of CPU.\n"
    "_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()\n\n"
)


def _out(body: str, header: str = HEADER) -> str:
    return header + body


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import requests\nasync def f(u):\n    return requests.get(u).json()\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        return (await client.get(u)).json()\n"
            ),
            id="import-requests",
        ),
        pytest.param(
            "import requests as rq\nasync def f(u):\n    r = rq.get(u, {'a': 1})\n    return r.text\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        r = await client.get(u, params={{'a': 1}})\n    return r.text\n"
            ),
            id="alias-and-positional-params",
        ),
        pytest.param(
            "from requests import post\nasync def f(u):\n    return post(u, 'raw').status_code\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        return (await client.post(u, content='raw')).status_code\n"
            ),
            id="from-import-data-string-becomes-content",
        ),
        pytest.param(
            "import requests\nasync def f(u, form):\n    requests.put(u, data=form, allow_redirects=False)\n",
            _out(
                f"async def f(u, form):\n{PER_CALL}    async with {CLIENT} as client:\n        await client.put(u, data=form, follow_redirects=False)\n"
            ),
            id="data-form-and-allow-redirects",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    return requests.head(u).headers\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        return (await client.head(u, follow_redirects=False)).headers\n"
            ),
            id="head-does-not-follow-redirects",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    requests.delete(u, json={'id': 1}, timeout=(1, 5))\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        await client.request(\"DELETE\", u, json={{'id': 1}}, timeout=httpx.Timeout(5, connect=1))\n"
            ),
            id="body-on-delete-and-timeout-tuple",
        ),
        pytest.param(
            "import requests\nasync def f(urls):\n    for u in urls:\n        requests.get(u, verify=False)\n",
            "import httpx\n\n"
            f"async def f(urls):\n{PER_CALL}    async with httpx.AsyncClient(verify=False, follow_redirects=True, timeout=None) as client:\n"
            "        for u in urls:\n            await client.get(u)\n",
            id="loop-shares-one-client-verify-moves-to-client",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    r = requests.get(u)\n    if r:\n        return r.reason\n    return not r.ok, r.url\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        r = await client.get(u)\n    if not r.is_error:\n        return r.reason_phrase\n    return r.is_error, str(r.url)\n"
            ),
            id="response-attributes",
        ),
        pytest.param(
            "import httpx\nasync def f(u):\n    return httpx.post(u, json={}).text\n",
            "import httpx\n\n"
            "# One SSL context for this module's httpx clients: each costs tens of ms of CPU.\n"
            "_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()\n\n"
            f"async def f(u):\n{PER_CALL}    async with httpx.AsyncClient(verify=_HTTPX_SSL_CONTEXT) as client:\n"
            "        return (await client.post(u, json={})).text\n",
            id="sync-httpx-function-keeps-httpx-defaults",
        ),
        pytest.param(
            "import httpx\nasync def t(app):\n    async with httpx.AsyncClient(app=app) as c:\n        pass\n",
            "import httpx\nasync def t(app):\n    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as c:\n        pass\n",
            id="asyncclient-app-shortcut",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    try:\n        requests.get(u).raise_for_status()\n"
            "    except requests.HTTPError as e:\n        return e.response.status_code\n",
            _out(
                f"async def f(u):\n{PER_CALL}    async with {CLIENT} as client:\n        try:\n            (await client.get(u)).raise_for_status()\n"
                "        except httpx.HTTPStatusError as e:\n            return e.response.status_code\n"
            ),
            id="except-clause-guarding-the-call",
        ),
    ],
)
def test_rewrites(before: str, after: str):
    check_transformed(before, after, fmt=False, **SELECT)


def test_request_exception_around_json_also_catches_json_errors():
    out, diagnostics = rewrite(
        "import requests\nasync def f(u):\n    try:\n        r = requests.get(u)\n        return r.json()\n"
        "    except requests.RequestException:\n        return None\n",
        fmt=False,
        **SELECT,
    )
    assert "except (httpx.HTTPError, httpx.InvalidURL, json.JSONDecodeError):" in out
    assert "import json" in out and "import requests" not in out
    assert diagnostics == []


def test_except_keeps_requests_classes_when_a_requests_call_stays():
    out, _ = rewrite(
        "import requests\nasync def f(u):\n    try:\n        requests.get(u)\n        (lambda: requests.get(u))()\n"
        "    except requests.Timeout:\n        pass\n",
        fmt=False,
        **SELECT,
    )
    assert "except (requests.Timeout, httpx.TimeoutException):" in out
    assert out.startswith("import httpx\nimport requests\n")  # isort order


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "import requests\ndef f(u):\n    return requests.get(u).json()\n", id="sync-def"
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    g = lambda: requests.get(u)\n", id="lambda"
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    def g():\n        requests.get(u)\n",
            id="nested-def",
        ),
        pytest.param(
            "async def f(requests, u):\n    return requests.get(u)\n", id="parameter-named-requests"
        ),
        pytest.param(
            "async def f(u):\n    requests = {}\n    return requests.get(u)\n",
            id="local-named-requests",
        ),
        pytest.param(
            "import requests\nasync def f(call):\n    return call(requests)\n",
            id="module-passed-around",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    http = requests\n    return http\n",
            id="module-as-value",
        ),
        pytest.param(
            "from my import requests\nasync def f(u):\n    return requests.get(u)\n",
            id="other-requests",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    requests.get(u)  # asyncfix: ignore\n",
            id="opt-out",
        ),
        pytest.param(
            "import httpx\nasync def f(u):\n    async with httpx.AsyncClient() as c:\n        await c.get(u)\n",
            id="already-async",
        ),
    ],
)
def test_noop(source: str):
    assert check_noop(source, fmt=False, **SELECT) == []


@pytest.mark.parametrize(
    ("source", "line", "col", "code", "words"),
    [
        pytest.param(
            "import requests\nasync def f(u, **kw):\n    requests.get(u, **kw)\n",
            3,
            5,
            "ASYNC210",
            "**kwargs",
            id="splat",
        ),
        pytest.param(
            "import requests\nasync def f(u, p):\n    requests.get(u, proxies=p)\n",
            3,
            5,
            "ASYNC210",
            "proxies=",
            id="proxies",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    requests.get(u, stream=True).raw\n",
            3,
            5,
            "ASYNC210",
            "stream=True",
            id="stream-without-with",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    with requests.get(u, stream=True) as r:\n        for l in r.iter_lines():\n            pass\n",
            3,
            10,
            "ASYNC210",
            "iter_lines",
            id="iter-lines",
        ),
        pytest.param(
            "import requests\nasync def f(us):\n    for u in us:\n        x = u\n        requests.get(u, cookies={'a': x})\n",
            5,
            9,
            "ASYNC210",
            "`x`",
            id="client-setting-computed-too-late",
        ),
        pytest.param(
            "import requests\nasync def f(us):\n    return sum(requests.get(u).status_code for u in us)\n",
            3,
            16,
            "ASYNC210",
            "generator",
            id="genexp",
        ),
        pytest.param(
            "import urllib.request\nasync def f(u):\n    return urllib.request.urlopen(u).read()\n",
            3,
            12,
            "ASYNC210",
            "urlopen",
            id="urlopen",
        ),
        pytest.param(
            "import requests\nS = requests.Session()\nasync def f(u):\n    return S.get(u)\n",
            4,
            12,
            "ASYNC210",
            "lifespan",
            id="module-session",
        ),
        pytest.param(
            "import httpx\nC = httpx.Client()\nasync def f(u):\n    return C.get(u)\n",
            4,
            12,
            "ASYNC212",
            "lifespan",
            id="module-httpx-client",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    s = requests.Session()\n    return s.get(u)\n",
            3,
            9,
            "ASYNC210",
            "async with",
            id="session-outside-with",
        ),
        pytest.param(
            "import requests\nasync def f(u):\n    with requests.Session() as s:\n        s.verify = False\n        s.get(u)\n",
            3,
            10,
            "ASYNC210",
            "s.verify",
            id="session-setting-without-twin",
        ),
    ],
)
def test_reported_not_rewritten(source: str, line: int, col: int, code: str, words: str):
    diagnostics = check_noop(source, fmt=False, **SELECT)
    assert [(d.line, d.column, d.code) for d in diagnostics] == [(line, col, code)]
    assert words in (diagnostics[0].message + diagnostics[0].hint)


def test_handed_on_response_is_rewritten_and_reported():
    out, diagnostics = rewrite(
        "import requests\nasync def f(u):\n    return requests.get(u)\n", fmt=False, **SELECT
    )
    assert "return await client.get(u)" in out
    # Diagnostics name lines of the file as written: the note stands on the rewritten call's
    # block (the first line of what replaced `return requests.get(u)`).
    block = next(
        i for i, line in enumerate(out.splitlines(), 1) if line.strip() == PER_CALL.strip()
    )
    assert [(d.line, d.code) for d in diagnostics] == [(block, "HTTPX001")]


def test_ssl_context_is_reused_and_name_collisions_avoided():
    source = (
        "import httpx\nimport requests\n\n_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()\n"
        "async def f(u, client):\n    return requests.get(u).text + client\n"
    )
    out, _ = rewrite(source, fmt=False, **SELECT)
    assert out.count("create_ssl_context") == 1
    assert "as client_2:" in out and "await client_2.get(u)" in out


# -- runtime: a real upstream on loopback, the same FastAPI app before and after -------------------


class _Upstream(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: object, extra: dict = {}) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self._send(302, {"moved": True}, {"Location": "/echo?from=redirect"})
        elif parts.path == "/echo":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type") == "application/json":
                # the same JSON; the bytes differ (httpx 0.28 serialises without spaces)
                raw = json.loads(raw)
            self._send(
                200,
                {
                    "method": self.command,
                    "query": parse_qs(parts.query),
                    "token": self.headers.get("X-Token"),
                    "content_type": self.headers.get("Content-Type"),
                    "body": raw,
                },
            )
        elif parts.path == "/peer":
            # which connection the request came on, and the cookies it carried
            self._send(200, {"port": self.client_address[1], "cookie": self.headers.get("Cookie")})
        elif parts.path == "/cookie":
            self._send(200, {"set": True}, {"Set-Cookie": "sid=upstream-session; Path=/"})
        elif parts.path == "/delay":
            time.sleep(0.2)
            self._send(200, {"slept": 0.2})
        else:
            self._send(404, {"detail": "not found"})

    do_GET = do_POST = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default of 5 drops concurrent connects
    daemon_threads = True


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


APP = """\
import os

import requests
from fastapi import FastAPI

UPSTREAM = os.environ["ASYNCFIX_UPSTREAM"]
app = FastAPI()


@app.get("/search")
async def search(q: str):
    r = requests.get(f"{UPSTREAM}/echo", params={"q": q, "page": 2})
    return r.json()


@app.post("/items")
async def create(item: dict):
    r = requests.post(f"{UPSTREAM}/echo", json=item, headers={"X-Token": "secret"})
    raw = requests.post(f"{UPSTREAM}/echo", data="raw text")
    return {"json": r.json(), "raw": raw.json()["body"]}


@app.get("/follow")
async def follow():
    r = requests.get(f"{UPSTREAM}/redirect")
    head = requests.head(f"{UPSTREAM}/redirect")
    return {
        "status": r.status_code,
        "url": r.url,
        "body": r.json(),
        "redirects": len(r.history),
        "head": head.status_code,
    }


@app.get("/missing")
async def missing():
    try:
        r = requests.get(f"{UPSTREAM}/missing")
        r.raise_for_status()
    except requests.HTTPError as error:
        return {"caught": error.response.status_code, "ok": r.ok, "reason": r.reason}
    return {"caught": None}


@app.get("/slow")
async def slow():
    return requests.get(f"{UPSTREAM}/delay").json()
"""

CALLS = [
    ("GET", "/search?q=asyncfix", None),
    ("POST", "/items", {"name": "widget", "price": 3}),
    ("GET", "/follow", None),
    ("GET", "/missing", None),
]


async def _answers(app) -> list:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        responses = [await client.request(method, url, json=body) for method, url, body in CALLS]
    return [(r.status_code, r.json()) for r in responses]


async def _concurrent(app, n: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=30) as client:
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.get("/slow") for _ in range(n)))
        elapsed = time.perf_counter() - started
    assert [r.json() for r in responses] == [{"slept": 0.2}] * n
    return elapsed


def test_rewritten_app_answers_the_same_without_blocking(
    tmp_path: Path, upstream: str, monkeypatch
):
    monkeypatch.setenv("ASYNCFIX_UPSTREAM", upstream)
    path = tmp_path / "proxy_app.py"
    path.write_text(APP)
    before_module = load_module(path, "proxy_before")
    before = asyncio.run(_answers(before_module.app))
    assert before[0] == (
        200,
        {
            "method": "GET",
            "query": {"q": ["asyncfix"], "page": ["2"]},
            "token": None,
            "content_type": None,
            "body": "",
        },
    )
    assert before[1][1]["json"]["token"] == "secret"
    assert before[1][1]["json"]["body"] == {"name": "widget", "price": 3}
    assert before[1][1]["raw"] == "raw text"
    assert before[2] == (
        200,
        {
            "status": 200,
            "url": f"{upstream}/echo?from=redirect",
            "redirects": 1,
            "head": 302,
            "body": {
                "method": "GET",
                "query": {"from": ["redirect"]},
                "token": None,
                "content_type": None,
                "body": "",
            },
        },
    )
    assert before[3] == (200, {"caught": 404, "ok": False, "reason": "Not Found"})
    n = 10
    blocked = asyncio.run(_concurrent(before_module.app, n))
    assert blocked >= n * 0.2 * 0.9, f"the original app took only {blocked:.2f}s"

    result = CliRunner().invoke(main, ["--apply", "--select", "requests_to_httpx", str(path)])
    assert result.exit_code == 0, result.output
    rewritten = path.read_text()
    assert "import requests" not in rewritten and "await http_client().get(" in rewritten
    assert "except httpx.HTTPStatusError as error:" in rewritten

    after_module = load_module(path, "proxy_after")
    assert asyncio.run(_answers(after_module.app)) == before
    elapsed = asyncio.run(_concurrent(after_module.app, n))
    # compared with the run before the rewrite, on this machine (no absolute threshold)
    assert (
        elapsed < blocked / 2
    ), f"{n} concurrent requests took {elapsed:.2f}s after the rewrite ({blocked:.2f}s before)"
    assert (
        CliRunner().invoke(main, ["--check", "--select", "requests_to_httpx", str(path)]).exit_code
        == 0
    )


def test_emitted_client_does_not_pay_for_an_ssl_context():
    """A client per call built on the module's shared SSL context costs a fraction of one that
    builds its own (the cost that made a client per request stall the loop)."""

    def mean_ms(make, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            make()
        return (time.perf_counter() - started) / n * 1000

    context = httpx.create_ssl_context()
    own = mean_ms(lambda: httpx.AsyncClient(follow_redirects=True, timeout=None), 5)
    shared = mean_ms(
        lambda: httpx.AsyncClient(verify=context, follow_redirects=True, timeout=None), 50
    )
    assert shared * 10 < own, f"shared context: {shared:.2f} ms, own context: {own:.2f} ms"


VERIFY_APP = """\
import requests

CA_BUNDLE = {ca!r}


async def fetch(url):
    return requests.get(url, verify=CA_BUNDLE).text
"""


def _self_signed(tmp_path: Path) -> Tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    done = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"openssl cannot make a test certificate: {done.stderr.strip()[:200]}")
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_verify_with_a_ca_bundle_becomes_an_ssl_context_and_still_trusts_only_it(tmp_path: Path):
    """httpx 0.28 deprecates ``verify=<str>``: the rewrite builds the context httpx's warning asks
    for, and the rewritten call trusts the bundle (and only it) as requests did."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = _Server(("127.0.0.1", 0), _Upstream)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}/echo"
    try:
        path = tmp_path / "verify_app.py"
        path.write_text(VERIFY_APP.format(ca=str(cert)))
        before = asyncio.run(load_module(path, "verify_before").fetch(url))
        result = CliRunner().invoke(main, ["--apply", "--select", "requests_to_httpx", str(path)])
        assert result.exit_code == 0, result.output
        rewritten = path.read_text()
        assert "verify=ssl.create_default_context(cafile=CA_BUNDLE)" in rewritten
        assert rewritten.startswith("import ssl\n\nimport httpx\n")
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            after = asyncio.run(load_module(path, "verify_after").fetch(url))
        assert after == before

        # the bundle is what makes the server trusted: httpx's default context rejects it
        async def default_context() -> None:
            async with httpx.AsyncClient() as client:
                await client.get(url)

        with pytest.raises(httpx.ConnectError):
            asyncio.run(default_context())
    finally:
        server.shutdown()
        thread.join()


def test_return_annotation_of_a_converted_function_names_the_httpx_response():
    out, _ = rewrite(
        "import requests\nasync def f(u) -> requests.Response:\n    return requests.get(u)\n",
        fmt=False,
        **SELECT,
    )
    assert "async def f(u) -> httpx.Response:" in out
    assert "requests" not in out  # nothing keeps the import alive


class _KeepAlive(_Upstream):
    protocol_version = "HTTP/1.1"  # keeps connections open, as real upstreams do


SHARED_APP = """\
import os

import requests
from fastapi import FastAPI

UPSTREAM = os.environ["ASYNCFIX_UPSTREAM"]
app = FastAPI()


@app.get("/login")
async def login():
    return requests.get(f"{UPSTREAM}/cookie").json()


@app.get("/peer")
async def peer():
    return requests.get(f"{UPSTREAM}/peer").json()
"""


async def _peers(app, n: int) -> list:
    """``/login`` (the upstream sets a cookie), then ``/peer`` n times, one after the other."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        assert (await client.get("/login")).json() == {"set": True}
        return [(await client.get("/peer")).json() for _ in range(n)]


def test_one_shared_client_is_reused_across_requests_and_closed_with_the_app(
    tmp_path: Path, monkeypatch
):
    """The app's requests calls become calls on one ``http_client()``: the upstream sees one
    connection for every request (requests opened one per call), no cookie comes back (as with
    requests), and the app's lifespan closes the client when the app stops; the next start (a
    second ``with TestClient(app)``) gets a new one, and without the lifespan it still works."""
    server = _Server(("127.0.0.1", 0), _KeepAlive)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        monkeypatch.setenv("ASYNCFIX_UPSTREAM", f"http://127.0.0.1:{server.server_address[1]}")
        path = tmp_path / "shared_app.py"
        path.write_text(SHARED_APP)
        before = asyncio.run(_peers(load_module(path, "shared_before").app, 3))
        assert len({peer["port"] for peer in before}) == 3  # a connection per call
        assert {peer["cookie"] for peer in before} == {None}

        result = CliRunner().invoke(main, ["--apply", "--select", "requests_to_httpx", str(path)])
        assert result.exit_code == 0, result.output
        rewritten = path.read_text()
        assert 'return (await http_client().get(f"{UPSTREAM}/peer")).json()' in rewritten
        assert "app = FastAPI(lifespan=lifespan)" in rewritten
        # the loop asked once in the accessor, once in the lifespan's close
        assert rewritten.count("asyncio.get_running_loop()") == 2, rewritten
        module = load_module(path, "shared_after")

        async def serve() -> Tuple[list, httpx.AsyncClient]:
            async with module.app.router.lifespan_context(module.app):
                peers = await _peers(module.app, 3)
                client = module.http_client()
                assert not client.is_closed
            return peers, client

        peers, client = asyncio.run(serve())
        assert len({peer["port"] for peer in peers}) == 1  # one connection, reused
        assert {peer["cookie"] for peer in peers} == {None}  # the upstream's cookie not kept
        assert client.is_closed  # closed by the lifespan at shutdown
        assert len(module._HTTP_CLIENTS) == 0
        again, second = asyncio.run(serve())  # a second start: a new client
        assert second is not client and second.is_closed
        assert len({peer["port"] for peer in again}) == 1
        # Without the lifespan, a loop per run (a TestClient used without `with`): a client per
        # loop, made on first use. One client cached across loops fails on its second loop
        # ("Event loop is closed": the kept-alive connection belongs to the first one).
        for _ in range(2):
            assert [peer["cookie"] for peer in asyncio.run(_peers(module.app, 2))] == [None, None]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


TOWERS = """\
import os

import requests
from fastapi import FastAPI

UPSTREAM = os.environ["ASYNCFIX_UPSTREAM"]
app = FastAPI()


@app.post("/order")
async def order(item: dict):
    with requests.Session() as session:
        return session.post(f"{UPSTREAM}/echo", json=item, headers={"X-Token": "t"}).json()["body"]


@app.get("/query")
async def query(q: str):
    found = requests.get(f"{UPSTREAM}/echo", params={"q": q, "page": 2}, timeout=10).json()["query"]
    return found


@app.get("/short")
async def short():
    return requests.get(f"{UPSTREAM}/echo").json()["method"]
"""


async def _tower_calls(app) -> list:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return [
            (await client.post("/order", json={"n": 1})).json(),
            (await client.get("/query", params={"q": "x"})).json(),
            (await client.get("/short")).json(),
        ]


def test_an_awaited_response_that_would_be_a_tower_gets_a_line_of_its_own(
    tmp_path: Path, upstream: str, monkeypatch
):
    """Where ``(await client.post(...)).json()`` would not fit a line (black would make a tower
    of parentheses of it), the response is awaited on a line of its own, as a maintainer writes
    it; a short one keeps the chain. The app answers as before."""
    monkeypatch.setenv("ASYNCFIX_UPSTREAM", upstream)
    path = tmp_path / "towers.py"
    path.write_text(TOWERS)
    before = asyncio.run(_tower_calls(load_module(path, "towers_before").app))
    result = CliRunner().invoke(main, ["--apply", "--select", "requests_to_httpx", str(path)])
    assert result.exit_code == 0, result.output
    rewritten = path.read_text()
    assert "        response = await session.post(\n" in rewritten, rewritten
    assert '        return response.json()["body"]\n' in rewritten
    assert "    response = await http_client().get(\n" in rewritten
    assert '    found = response.json()["query"]\n' in rewritten
    assert (
        '    return (await http_client().get(f"{UPSTREAM}/echo")).json()["method"]\n' in rewritten
    )
    assert "(\n        await" not in rewritten and "(\n            await" not in rewritten
    after = asyncio.run(_tower_calls(load_module(path, "towers_after").app))
    assert after == before == [{"n": 1}, {"q": ["x"], "page": ["2"]}, "GET"]
    check_noop(rewritten, select=["requests_to_httpx"])


OWN_LIFESPAN = """\
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI

EVENTS = []


class Client:
    def close(self):
        EVENTS.append("own client closed")


@asynccontextmanager
async def lifespan(app: FastAPI):
    client = Client()
    try:
        yield
    finally:
        client.close()


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index():
    return requests.get("http://upstream.invalid/").status_code
"""


def test_the_lifespan_closes_the_loops_client_under_a_name_it_does_not_use(tmp_path: Path):
    """The app's own lifespan has a local ``client``: the close of the shared client takes
    another name and asks for the running loop once; run, the lifespan closes both."""
    path = tmp_path / "own_lifespan.py"
    path.write_text(OWN_LIFESPAN)
    result = CliRunner().invoke(main, ["--apply", "--select", "requests_to_httpx", str(path)])
    assert result.exit_code == 0, result.output
    rewritten = path.read_text()
    assert (
        "        client.close()\n"
        "        http_client_of_loop = _HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)\n"
        "        if http_client_of_loop is not None:\n"
        "            await http_client_of_loop.aclose()\n"
    ) in rewritten, rewritten
    module = load_module(path, "own_lifespan_after")

    async def serve() -> httpx.AsyncClient:
        async with module.app.router.lifespan_context(module.app):
            shared = module.http_client()
            assert not shared.is_closed
        return shared

    shared = asyncio.run(serve())
    assert shared.is_closed and module.EVENTS == ["own client closed"]
    assert len(module._HTTP_CLIENTS) == 0
    check_noop(rewritten, select=["requests_to_httpx"])


def test_a_later_run_reuses_the_apps_client():
    """A call added after asyncfix made the app's client runs on that client: no second client,
    registry or shutdown code."""
    first, _ = rewrite(SHARED_APP, select=["requests_to_httpx"])
    added = first.replace("import httpx\n", "import httpx\nimport requests\n", 1) + (
        "\n\n@app.get('/again')\nasync def again():\n"
        "    return requests.get(f'{UPSTREAM}/peer').json()\n"
    )
    second, _ = rewrite(added, select=["requests_to_httpx"])
    assert second.count("def http_client()") == 1 and "_HTTP_CLIENTS_2" not in second
    assert second.count(".aclose()") == 1
    assert 'return (await http_client().get(f"{UPSTREAM}/peer")).json()' in second
    check_noop(second, select=["requests_to_httpx"])
