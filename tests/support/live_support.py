"""Real servers and a small SSE reader for the live-events tests.

Servers are ``aiclone serve`` subprocesses on free ports (``tests.support.live_harness`` adds a test-only
event writer to the same command). The reader parses the event-stream format itself, following
the WHATWG rules a browser applies (fields, comments, dispatch on a blank line, ``id`` kept
across events), so the tests see exactly what an ``EventSource`` would.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_SECRET
from tests.support.ports import SERVER_READY_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase 42"


def http(base_url: str = "", **options: Any) -> httpx.AsyncClient:
    """A client for our local plain-http servers (skipping the CA bundle load: ~70 ms per client)."""
    options.setdefault("timeout", 30)
    return httpx.AsyncClient(base_url=base_url, verify=False, **options)


def server_env(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env.update(
        {
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
            "AICLONE_ENV": "test",
            "AICLONE_DATABASE_URL": database_url,
            "AICLONE_DATA_DIR": str(data_dir),
            "AICLONE_SECRET_KEY": TEST_SECRET,
            "AICLONE_ARGON2_TIME_COST": "2",
            "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
            "AICLONE_ARGON2_PARALLELISM": "1",
            "AICLONE_AUTO_MIGRATE": "false",
            # These tests open many streams and requests from one address on purpose.
            "AICLONE_RATE_LIMIT_ENABLED": "false",
            "AICLONE_LOG_LEVEL": "INFO",
        }
    )
    env.update({f"AICLONE_{k.upper()}": str(v) for k, v in settings.items()})
    return env


_RUNNING: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    # A crashed test run must not leave servers behind (they run in their own sessions).
    for proc in _RUNNING:
        if proc.poll() is None:
            proc.kill()


class Server:
    """One server process; ``harness=True`` adds the test event writer."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        harness: bool = True,
        name: str = "server",
        **settings: object,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / f"{name}-{self.port}.log"
        self.env = server_env(database_url, data_dir, **settings)
        self.harness = harness
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = SERVER_READY_SECONDS) -> Server:
        module = "tests.support.live_harness" if self.harness else "aiclone"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, "serve", "--port", str(self.port), "--no-migrate"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _RUNNING.add(self.proc)
        deadline = time.monotonic() + timeout
        async with http(timeout=2) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not become ready:\n{self.log()}")
                await asyncio.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> float:
        """Signal the server and wait for it to exit; returns the seconds it took."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            while self.proc.poll() is None and time.monotonic() - started < timeout:
                await asyncio.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return time.monotonic() - started

    async def write_events(self, user_id: uuid.UUID, count: int = 1, **options: Any) -> list[int]:
        async with http(self.url, timeout=60) as client:
            response = await client.post(
                "/_test/events", json={"user_id": str(user_id), "count": count, **options}
            )
        assert response.status_code == 201, response.text
        seqs: list[int] = response.json()["seqs"]
        return seqs

    async def publish_ephemeral(self, user_id: uuid.UUID, type: str, data: dict[str, Any]) -> None:
        async with http(self.url) as client:
            response = await client.post(
                "/_test/ephemeral", json={"user_id": str(user_id), "type": type, "data": data}
            )
        assert response.status_code == 201, response.text


@dataclass
class Account:
    id: uuid.UUID
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up(server_url: str, *, admin_via: Any = None) -> Account:
    """Register and sign in through the API (admins are created by the service, as the CLI does)."""
    email = f"live-{uuid.uuid4().hex[:12]}@example.com"
    async with http(server_url) as client:
        if admin_via is not None:
            from aiclone.auth.models import Role

            await admin_via.auth.register(email=email, password=PASSWORD, full_name="Admin", role=Role.ADMIN)
        else:
            created = await client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Live"}
            )
            assert created.status_code == 201, created.text
        login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    return Account(id=uuid.UUID(me.json()["id"]), email=email, access_token=token)


# --- the event-stream format ---


@dataclass
class Frame:
    event: str
    data: str
    id: str | None  # the id field of this event, if it had one
    last_event_id: str  # what the browser would send as Last-Event-ID after it

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SSEParser:
    """Incremental parser: feed text, get dispatched frames (comments are counted)."""

    last_event_id: str = ""  # the "last event ID string": what a reconnect sends
    retry: int | None = None
    comments: int = 0
    _buffer: str = ""
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    # The spec's "last event ID buffer": kept across events, copied to last_event_id on dispatch,
    # so an id whose frame was cut off before its blank line is not taken.
    _id_buffer: str = ""

    def feed(self, text: str) -> list[Frame]:
        self._buffer += text
        frames: list[Frame] = []
        while True:
            cut = _next_line_end(self._buffer)
            if cut is None:
                return frames
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            frame = self._line(line)
            if frame is not None:
                frames.append(frame)

    def _line(self, line: str) -> Frame | None:
        if line == "":
            self.last_event_id = self._id_buffer
            if not self._data:
                self._event, self._id = "", None
                return None
            frame = Frame(self._event or "message", "\n".join(self._data), self._id, self.last_event_id)
            self._event, self._data, self._id = "", [], None
            return frame
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id_buffer = value
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None


def _next_line_end(buffer: str) -> tuple[int, int] | None:
    for i, ch in enumerate(buffer):
        if ch == "\n":
            return i, i + 1
        if ch == "\r":
            if i + 1 == len(buffer):
                return None  # maybe CRLF split across chunks
            return (i, i + 2) if buffer[i + 1] == "\n" else (i, i + 1)
    return None


class StreamClient:
    """Reads one stream in the background with httpx, collecting frames."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = headers or {}
        self.params = params or {}
        self.cookies = cookies or {}
        self.parser = SSEParser()
        self.frames: list[Frame] = []
        self.status: int | None = None
        self.response_headers: httpx.Headers | None = None
        self.ended = asyncio.Event()
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.body = ""

    async def open(self, timeout: float = 15.0) -> StreamClient:
        self._task = asyncio.create_task(self._run())
        started = asyncio.get_running_loop().time()
        # Opened means: refused with its body read, or the first frame (the connection message)
        # has arrived.
        while not self.ended.is_set() and (self.status != 200 or not self.frames):
            await self._wait_change(timeout - (asyncio.get_running_loop().time() - started))
        return self

    async def _run(self) -> None:
        try:
            async with (
                http(self.base_url, timeout=httpx.Timeout(10, read=None), cookies=self.cookies) as client,
                client.stream("GET", "/api/events", headers=self.headers, params=self.params) as response,
            ):
                self.status = response.status_code
                self.response_headers = response.headers
                self._notify()
                if response.status_code != 200:
                    self.body = (await response.aread()).decode()
                    return
                async for text in response.aiter_text():
                    new = self.parser.feed(text)
                    if new:
                        self.frames.extend(new)
                    self._notify()
        except (httpx.HTTPError, OSError) as exc:
            self.error = exc
        finally:
            self.ended.set()
            self._notify()

    def _notify(self) -> None:
        self._changed.set()

    async def _wait_change(self, timeout: float) -> None:
        self._changed.clear()
        await asyncio.wait_for(self._changed.wait(), timeout=max(timeout, 0.01))

    async def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            if self.ended.is_set() and not predicate(self):
                raise AssertionError(
                    f"stream ended first: status={self.status} error={self.error!r} frames={self.frames[-5:]}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out; frames so far: {[(f.event, f.id) for f in self.frames[-10:]]}"
                )
            with contextlib.suppress(TimeoutError):
                await self._wait_change(remaining)

    async def wait_seqs(self, count: int, timeout: float = 15.0) -> list[int]:
        await self.wait_for(lambda c: len(c.seqs) >= count, timeout)
        return self.seqs

    @property
    def events(self) -> list[Frame]:
        return [f for f in self.frames if f.id is not None and f.event not in ("connection", "reset")]

    @property
    def seqs(self) -> list[int]:
        return [int(f.id) for f in self.events if f.id is not None]

    def named(self, event: str) -> list[Frame]:
        return [f for f in self.frames if f.event == event]

    def reconnect_headers(self) -> dict[str, str]:
        """The request headers of a spec-following client's reconnect after this stream.

        The same headers as before, plus ``Last-Event-ID`` when the last event ID string is not
        empty (WHATWG HTML, "Server-sent events": an empty string sends no header at all).
        """
        headers = {k: v for k, v in self.headers.items() if k.lower() != "last-event-id"}
        if self.parser.last_event_id:
            headers["Last-Event-ID"] = self.parser.last_event_id
        return headers

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def open_stream(base_url: str, **options: Any) -> AsyncIterator[StreamClient]:
    client = StreamClient(base_url, **options)
    try:
        await client.open()
        yield client
    finally:
        await client.close()


class CuttableProxy:
    """A TCP relay in front of a server: the network between a client and it, which a test cuts.

    ``cut()`` resets every relayed connection at once (no close frame, no FIN: what a dropped
    network or a crashed proxy looks like to both sides). Between ``hold()`` and ``release()``
    new connections are accepted but parked, so a test decides when a reconnect gets through.
    """

    def __init__(self, upstream_url: str) -> None:
        url = httpx.URL(upstream_url)
        self.upstream = (url.host, url.port or 80)
        self.port = 0
        self.url = ""
        self.parked = 0
        self.accepted = 0
        self._open = asyncio.Event()
        self._open.set()
        self._transports: set[asyncio.BaseTransport] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def cut(self) -> int:
        transports, self._transports = self._transports, set()
        for transport in transports:
            transport.abort()  # type: ignore[attr-defined]
        return len(transports)

    async def close(self) -> None:
        self.release()
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if not self._open.is_set():
            self.parked += 1
            try:
                await self._open.wait()
            finally:
                self.parked -= 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._transports |= {writer.transport, up_writer.transport}
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for side in (writer, up_writer):
                self._transports.discard(side.transport)
                side.transport.abort()

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()


class RawStream:
    """A stream over a bare socket with a tiny receive buffer: the test decides when to read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0

    @classmethod
    async def open(cls, base_url: str, headers: dict[str, str]) -> RawStream:
        url = httpx.URL(base_url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (url.host, url.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        lines = ["GET /api/events HTTP/1.1", f"Host: {url.host}"] + [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        stream = cls(reader, writer)
        stream.status = int(head.split(b" ", 2)[1])
        return stream

    async def read_to_end(self, timeout: float = 30.0) -> tuple[list[Frame], bool]:
        """Everything the server sent until it closed; True if the body ended properly."""
        raw = bytearray()
        async with asyncio.timeout(timeout):
            while chunk := await self.reader.read(65536):
                raw += chunk
        self.writer.close()
        body, complete = _dechunk(bytes(raw))
        return SSEParser().feed(body.decode()), complete


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    out = bytearray()
    pos = 0
    while True:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            return bytes(out), False
        size = int(raw[pos:end], 16)
        if size == 0:
            return bytes(out), True
        start = end + 2
        if start + size + 2 > len(raw):
            return bytes(out), False
        out += raw[start : start + size]
        pos = start + size + 2
