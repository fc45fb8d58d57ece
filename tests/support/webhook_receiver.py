"""A real HTTP receiver on 127.0.0.1 for webhook tests, served from a thread.

Each path answers with a programmable sequence of responses (then a default), and every request
is kept with its headers, body and arrival time, so tests can verify signatures with the
``standardwebhooks`` library exactly as a customer would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

# Settings for a delivery worker that retries within a test's time: private (127.0.0.1)
# receivers allowed, retries 50 ms apart without jitter, a short poll, bounded waits.
FAST_DELIVERY: dict[str, Any] = {
    "webhook_allow_private": True,
    "webhook_retry_schedule": "50ms,50ms,50ms",
    "webhook_retry_jitter": 0.0,
    "webhook_poll_seconds": 0.2,
    "webhook_timeout_seconds": 3.0,
    "webhook_connect_timeout_seconds": 1.0,
    "webhook_lease_seconds": 5.0,
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Hold the answer until the test sets this (a hanging endpoint under the test's control).
    gate: threading.Event | None = None


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    # What the receiver answered (set once the reply is chosen).
    status: int = 0
    late: bool = False

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """The parsed body if the signature verifies with ``secret``; raises otherwise."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._behaviours: dict[str, Callable[[Received], Reply]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender went away mid-request: an HTTP server never sees this request
                path = self.path
                request = Received(path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with receiver._lock:
                    receiver.requests.append(request)
                    script = receiver._scripts.get(path)
                    behaviour = receiver._behaviours.get(path)
                    if script:
                        reply = script.popleft()
                    elif behaviour is not None:
                        reply = behaviour(request)
                    else:
                        reply = receiver._defaults.get(path, Reply())
                    request.status = reply.status
                    request.late = reply.delay > 0 or reply.gate is not None
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.gate is not None:
                    reply.gate.wait(30)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            # The default backlog of 5 drops connections under a burst of concurrent deliveries.
            request_queue_size = 512

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply, default: Reply | None = None) -> None:
        with self._lock:
            self._scripts[path] = deque(replies)
            if default is not None:
                self._defaults[path] = default

    def behave(self, path: str, behaviour: Callable[[Received], Reply]) -> None:
        """Choose each reply with ``behaviour`` (called under the receiver's lock)."""
        with self._lock:
            self._behaviours[path] = behaviour

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 15.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while True:
                got = self.received(path)
                if len(got) >= count:
                    return got
                await asyncio.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
