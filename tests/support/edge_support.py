"""``aiclone serve`` under either HTTP server, and a raw-socket client for shutdown and slow-client tests.

The client speaks HTTP/1.1 by hand so a test can send a request byte by byte, stop in the middle
of it, and see exactly what the server does with the connection (an answer, a close, or nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.live_support import ROOT, http, server_env
from tests.support.ports import SERVER_READY_SECONDS, free_port


class EdgeServer:
    """One ``aiclone serve --server <name>`` process on a free port of 127.0.0.1."""

    def __init__(self, database_url: str, data_dir: Path, *, server: str, **settings: object) -> None:
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / f"{server}-{self.port}.log"
        self.env = server_env(database_url, data_dir, **settings)
        self.proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> EdgeServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        self.kill()

    async def start(self, timeout: float = SERVER_READY_SECONDS) -> EdgeServer:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "aiclone", "serve", "--port", str(self.port)),
                    *("--server", self.server, "--no-migrate", "--no-worker"),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None if the process is still running after ``timeout`` seconds."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.proc.poll()

    def kill(self) -> None:
        """End the server and its workers: granian's workers outlive a killed parent, so the
        whole process group (its own session, see ``start``) goes, after a graceful try."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.send_signal(signal.SIGINT)  # a second one skips the drain
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool = False
    raw: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def parse_response(data: bytes) -> RawResponse | None:
    """The first complete response in ``data`` (None if the head or the body is incomplete)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(rest) < length:
        return None
    return RawResponse(status=status, headers=headers, body=rest[:length], raw=data)


class RawClient:
    """One TCP connection; bytes go out when the test says so, and everything read is kept."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = b""
        self.closed = False
        self._reading = asyncio.ensure_future(self._read_all())

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def _read_all(self) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await self.reader.read(65536):
                self.received += chunk
        self.closed = True

    async def send(self, data: bytes) -> bool:
        """False when the server has already closed the connection."""
        if self.closed:
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            return False
        return True

    async def drip(self, data: bytes, *, every: float, stop_after: float) -> float | None:
        """Send ``data`` one byte per ``every`` seconds until the server answers or closes.

        Returns the seconds from the first byte to the server's reaction, or None if the server
        neither answered nor closed within ``stop_after`` seconds (or all bytes went out first).
        """
        started = time.monotonic()
        for byte in data:
            if self.received or self.closed or not await self.send(bytes([byte])):
                return time.monotonic() - started
            if time.monotonic() - started > stop_after:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reading), timeout=every)
        return None

    async def response(self, timeout: float) -> RawResponse | None:
        """The server's response, waiting up to ``timeout`` seconds for it to be complete."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parsed = parse_response(self.received)
            if parsed is not None:
                parsed.closed = self.closed
                return parsed
            if self.closed:
                return None
            await asyncio.sleep(0.02)
        return None

    async def wait_closed(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), timeout=timeout)
        return self.closed

    async def close(self) -> None:
        self._reading.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def request_head(method: str, path: str, *, headers: dict[str, str] | None = None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
