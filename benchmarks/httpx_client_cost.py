"""What an httpx.AsyncClient per call costs, and what requests_to_httpx emits instead.

Run: ``python benchmarks/httpx_client_cost.py`` (loopback only; starts and stops its own
server). Prints, for each shape, the CPU time of building a client and the wall time of N
concurrent requests to an upstream that answers after 0.2 s, all on one event loop:

- ``own context``: ``async with httpx.AsyncClient() as c`` per request (loads the CA bundle
  every time: blocking CPU on the loop);
- ``shared context``: what the codemod emits, a client per function call built on the module's
  ``httpx.create_ssl_context()``;
- ``one client``: a single client for every request (the lower bound; not emitted, see the
  codemod's docstring for why).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

DELAY = 0.2


class Upstream(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(DELAY)
        body = b'{"slept": 0.2}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def build_cost_ms(make, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        make()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def concurrent(url: str, n: int, shape: str, context) -> float:
    shared = httpx.AsyncClient(verify=context, follow_redirects=True, timeout=None)

    async def one() -> None:
        if shape == "own context":
            async with httpx.AsyncClient(follow_redirects=True, timeout=None) as client:
                (await client.get(url)).raise_for_status()
        elif shape == "shared context":
            async with httpx.AsyncClient(
                verify=context, follow_redirects=True, timeout=None
            ) as client:
                (await client.get(url)).raise_for_status()
        else:
            (await shared.get(url)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed = time.perf_counter() - started
    await shared.aclose()
    return elapsed


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    server = Server(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        context = httpx.create_ssl_context()
        own = build_cost_ms(lambda: httpx.AsyncClient(), 10)
        shared = build_cost_ms(lambda: httpx.AsyncClient(verify=context), 200)
        print(f"build a client, own SSL context:    {own:7.2f} ms (median of 10)")
        print(f"build a client, shared SSL context: {shared:7.2f} ms (median of 200)")
        for shape in ("own context", "shared context", "one client"):
            runs = [asyncio.run(concurrent(url, n, shape, context)) for _ in range(3)]
            print(
                f"{n} concurrent requests, {DELAY}s upstream, {shape:14}: "
                f"{min(runs):.3f}s best / {statistics.median(runs):.3f}s median of 3"
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
