"""A local OpenAI-compatible Chat Completions server on 127.0.0.1, for tests and benchmarks.

It speaks the provider's documented protocol, not our code's: ``POST /v1/chat/completions``
answered either as a server-sent event stream (``data: {chat.completion.chunk}`` lines, a
final usage chunk when the request asked for ``stream_options.include_usage``, then
``data: [DONE]``) or as one JSON body. Each request is answered by the next scripted reply
(then the default, or a behaviour that looks at the request), and every request is kept with
its headers and parsed body so tests can check the prompt, the Authorization header and the
``response_format``.

Reply kinds: :class:`Stream` (text in pieces, with delays), :class:`Whole` (a non-streamed
answer), :class:`Fail` (any status, e.g. 429 with ``Retry-After`` or 500), :class:`Hang`
(accept the request and never answer until released), :class:`Cut` (stream some pieces then
drop the connection). ``close()`` releases every hang so no thread lingers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "local-test-model"


@dataclass
class Stream:
    pieces: list[str]
    delay: float = 0.0  # between pieces
    first_delay: float = 0.0  # before the first piece (after the headers)
    # "auto": send usage when asked (characters / 4 of prompt and answer); a pair: send these;
    # None: never send usage.
    usage: str | tuple[int, int] | None = "auto"
    finish_reason: str = "stop"
    # Pause before piece i (overrides ``delay`` for the pieces it names).
    pauses: dict[int, float] = field(default_factory=dict)
    # Pause between ``data: [DONE]`` and the end of the chunked body.
    tail_delay: float = 0.0

    @classmethod
    def text(cls, text: str, *, pieces: int = 4, delay: float = 0.0, **kwargs: Any) -> Stream:
        size = max(1, -(-len(text) // pieces))
        return cls([text[i : i + size] for i in range(0, len(text), size)] or [""], delay=delay, **kwargs)

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Stream:
        return cls.text(json.dumps(value), **kwargs)


@dataclass
class Whole:
    """A non-streamed answer (``chat.completion``), as a server ignoring ``stream`` sends it."""

    text: str
    usage: tuple[int, int] | None = (10, 5)


@dataclass
class Fail:
    status: int
    body: Any = field(
        default_factory=lambda: {"error": {"message": "scripted failure", "type": "server_error"}}
    )
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Read the request, then answer nothing for ``seconds`` (or until released)."""

    seconds: float = 60.0
    # Send the response headers first, then hang (a stream that stops mid-way).
    headers_first: bool = False


@dataclass
class Cut:
    """Stream ``pieces`` then close the connection without finishing the answer."""

    pieces: list[str]


Reply = Stream | Whole | Fail | Hang | Cut


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    # The client's (address, port): one connection per distinct value.
    peer: tuple[str, int] = ("", 0)

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    def message(self, role: str) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == role)


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4 + 1


class LLMProvider:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._default: Reply = Stream.text("Hello from the local model.")
        self._behaviour: Callable[[Recorded], Reply] | None = None
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # As real servers do: each chunk leaves at once (no Nagle wait on small writes).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                record = Recorded(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                    (str(self.client_address[0]), int(self.client_address[1])),
                )
                with provider._lock:
                    provider.requests.append(record)
                    if provider._script:
                        reply = provider._script.popleft()
                    elif provider._behaviour is not None:
                        reply = provider._behaviour(record)
                    else:
                        reply = provider._default
                if not self.path.split("?", 1)[0].endswith("/chat/completions"):
                    reply = Fail(404, {"error": {"message": f"no route {self.path}"}})
                # OSError: the client gave up (its timeout) and closed the connection.
                with contextlib.suppress(OSError):
                    provider._answer(self, record, reply)
                self.close_connection = True if isinstance(reply, Hang | Cut) else self.close_connection

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 256

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client that hung up (its own timeout) is part of the tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting

    def script(self, *replies: Reply, default: Reply | None = None) -> None:
        with self._lock:
            self._script = deque(replies)
            if default is not None:
                self._default = default

    def behave(self, behaviour: Callable[[Recorded], Reply]) -> None:
        """Choose each reply (once the script is used up) with ``behaviour``."""
        with self._lock:
            self._behaviour = behaviour

    def received(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Recorded]:
        async with asyncio.timeout(timeout):
            while len(self.received()) < count:
                await asyncio.sleep(0.01)
        return self.received()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- answering

    def _answer(self, handler: BaseHTTPRequestHandler, record: Recorded, reply: Reply) -> None:
        if isinstance(reply, Fail):
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        if isinstance(reply, Hang):
            if reply.headers_first:
                self._stream_headers(handler)
            self.release.wait(reply.seconds)
            return
        if isinstance(reply, Whole):
            body: dict[str, Any] = {
                "id": "chatcmpl-local",
                "object": "chat.completion",
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": "stop",
                    }
                ],
            }
            if reply.usage is not None:
                body["usage"] = {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1]}
            data = json.dumps(body).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        self._stream_headers(handler)
        if isinstance(reply, Cut):
            for piece in reply.pieces:
                self._event(handler, self._chunk({"content": piece}))
            handler.wfile.flush()
            return  # no terminating chunk: the connection is closed mid-body
        if reply.first_delay:
            self.release.wait(reply.first_delay)
        self._event(handler, self._chunk({"role": "assistant", "content": ""}))
        for index, piece in enumerate(reply.pieces):
            pause = reply.pauses.get(index, reply.delay if index else 0.0)
            if pause:
                self.release.wait(pause)
            self._event(handler, self._chunk({"content": piece}))
        self._event(handler, self._chunk({}, finish=reply.finish_reason))
        wants_usage = bool((record.body.get("stream_options") or {}).get("include_usage"))
        if reply.usage is not None and wants_usage:
            if reply.usage == "auto":
                usage = (_prompt_tokens(record.body), len("".join(reply.pieces)) // 4 + 1)
            else:
                assert isinstance(reply.usage, tuple)
                usage = reply.usage
            self._event(
                handler,
                {
                    "id": "chatcmpl-local",
                    "object": "chat.completion.chunk",
                    "model": MODEL,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": usage[0],
                        "completion_tokens": usage[1],
                        "total_tokens": usage[0] + usage[1],
                    },
                },
            )
        self._write(handler, b"data: [DONE]\n\n")
        if reply.tail_delay:
            self.release.wait(reply.tail_delay)
        self._write(handler, b"")  # the last chunk of the chunked body

    @staticmethod
    def _stream_headers(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()

    @staticmethod
    def _chunk(delta: dict[str, Any], *, finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _event(self, handler: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        self._write(handler, b"data: " + json.dumps(payload).encode() + b"\n\n")

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
