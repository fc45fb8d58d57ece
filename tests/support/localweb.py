"""A real HTTP server on 127.0.0.1 (a free port) for tests, with routes the test defines.

It runs in a thread, counts hits per path, and can be slow, redirect, send big bodies or
answer any content type. ``release`` ends every wait early (set on stop, so no thread lingers).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore

Handler = Callable[[BaseHTTPRequestHandler], None]


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.order: list[str] = []
        self.aborted: set[str] = set()
        self.arrived: dict[str, threading.Event] = collections.defaultdict(threading.Event)
        self.release = threading.Event()
        self._lock = threading.Lock()
        site = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with site._lock:
                    site.hits[path] += 1
                    site.order.append(path)
                site.arrived[path].set()
                handler = site.routes.get(path)
                try:
                    if handler is None:
                        self.send_error(404)
                    else:
                        handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    site.aborted.add(path)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LocalSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    # -- route kinds

    def page(
        self,
        path: str,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        data = body.encode() if isinstance(body, str) else body

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)

        self.routes[path] = handler

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(status)
            request.send_header("Location", location)
            request.send_header("Content-Length", "0")
            request.end_headers()

        self.routes[path] = handler

    def slow(self, path: str, body: str, *, delay: float, first_only: bool = False) -> None:
        """Wait ``delay`` seconds (or until released) before answering; with ``first_only`` only
        the first request waits."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            if not first_only or self.hits[path] == 1:
                self.release.wait(delay)
            data = body.encode()
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)

        self.routes[path] = handler

    def drip(self, path: str, *, seconds: float, interval: float = 0.1) -> None:
        """Send headers at once, then one byte per ``interval`` for ``seconds``."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            request.end_headers()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not self.release.is_set():
                request.wfile.write(b" ")
                request.wfile.flush()
                time.sleep(interval)

        self.routes[path] = handler

    def big(self, path: str, size: int, *, declare_length: bool) -> None:
        """A body of ``size`` bytes, with or without a Content-Length header."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            if declare_length:
                request.send_header("Content-Length", str(size))
            request.end_headers()
            chunk = b"<p>" + b"x" * 65_530 + b"</p>"
            sent = 0
            while sent < size:
                request.wfile.write(chunk)
                sent += len(chunk)

        self.routes[path] = handler

    def encoded(self, path: str, body: bytes, *, encoding: str, content_type: str = "text/html") -> None:
        """A body already compressed, sent as it is with ``Content-Encoding: encoding``."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Encoding", encoding)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            view = memoryview(body)
            for start in range(0, len(body), 65_536):
                request.wfile.write(view[start : start + 65_536])

        self.routes[path] = handler


@contextlib.contextmanager
def local_site() -> Iterator[LocalSite]:
    site = LocalSite().start()
    try:
        yield site
    finally:
        site.stop()


class LoopbackNetwork(httpcore.AsyncNetworkBackend):
    """The test network: stands in for the internet without leaving the machine.

    Connections to the addresses in ``public_to_local`` go to 127.0.0.1 instead (a "public" host
    served locally); loopback connections go through; anything else fails at once without
    touching the network. ``connects`` records every address asked for.
    """

    def __init__(self, public_to_local: dict[str, str] | None = None) -> None:
        self.public_to_local = public_to_local or {}
        self.connects: list[str] = []
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        target = self.public_to_local.get(host, host)
        if target not in ("127.0.0.1", "::1"):
            raise httpcore.ConnectError(f"test network: {host} is not reachable from here")
        return await self.inner.connect_tcp(target, port, timeout=timeout)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: object = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
