"""The load client of the live-events benchmark (see sse.py): thousands of streams on raw
asyncio sockets in one process, timing stamped frames as they arrive. Driven by sse.py over
stdin/stdout, one JSON object per line.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import time
from typing import Any

from sse_servers import raise_fd_limit

_T = re.compile(rb'"t":([0-9.]+)')
_U = re.compile(rb'"u":"([0-9a-f]+)"')
_ID = re.compile(rb"id: ([0-9]+)\n")


class StreamProtocol(asyncio.Protocol):
    __slots__ = ("buffer", "client", "connected", "transport")

    def __init__(self, client: LoadClient, connected: asyncio.Future[None]) -> None:
        self.client = client
        self.connected = connected
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data
        if not self.connected.done():
            if b"event: connection" in buffer:
                self.connected.set_result(None)
            elif not buffer.startswith(b"HTTP/1.1 200"):
                self.connected.set_exception(RuntimeError(buffer[:200].decode(errors="replace")))
                return
        *frames, self.buffer = buffer.split(b"\n\n")
        for frame in frames:
            match = _T.search(frame)
            if match is not None:
                self.client.latencies.append(now - float(match.group(1)))
                user, seq = _U.search(frame), _ID.search(frame)
                if user is not None and seq is not None:
                    self.client.deliveries.append((user.group(1).decode(), int(seq.group(1)), now))
            elif b"event: notification" in frame:
                self.client.arrivals.append(now)

    def connection_lost(self, _exc: Exception | None) -> None:
        self.client.lost += 1
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("closed before the stream started"))


class LoadClient:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.deliveries: list[tuple[str, int, float]] = []
        self.arrivals: list[float] = []
        self.lost = 0
        self.streams: list[asyncio.Transport] = []
        self.stalled: list[socket.socket] = []

    async def open_one(self, host: str, port: int, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        connected: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(lambda: StreamProtocol(self, connected), host, port)
        transport.write(request)
        await asyncio.wait_for(connected, timeout=60)
        self.streams.append(transport)  # type: ignore[arg-type]

    async def open(self, url: str, requests: list[bytes], concurrency: int = 200) -> dict[str, Any]:
        host, port = url.removeprefix("http://").split(":")
        started = time.monotonic()
        limit = asyncio.Semaphore(concurrency)
        failures: list[str] = []

        async def one(request: bytes) -> None:
            async with limit:
                try:
                    await self.open_one(host, int(port), request)
                except (OSError, RuntimeError, TimeoutError) as exc:
                    failures.append(str(exc)[:200])

        await asyncio.gather(*(one(r) for r in requests))
        return {
            "opened": len(requests) - len(failures),
            "failed": len(failures),
            "first_failure": failures[0] if failures else None,
            "seconds": time.monotonic() - started,
        }

    def stall(self, url: str, request: bytes) -> None:
        """A client that sends its request and never reads (tiny receive buffer)."""
        host, port = url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.sendall(request)
        self.stalled.append(sock)

    def close_all(self) -> None:
        for transport in self.streams:
            transport.abort()
        self.streams = []
        for sock in self.stalled:
            sock.close()
        self.stalled = []


def stream_request(token: str) -> bytes:
    return f"GET /api/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def naive_request(user: str) -> bytes:
    return f"GET /naive/events?u={user} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def load_main() -> None:
    """Serve commands from the orchestrator: one JSON object per line on stdin and stdout."""
    raise_fd_limit()
    client = LoadClient()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        name = command["cmd"]
        result: dict[str, Any]
        if name == "open":
            if "tokens" in command:
                requests = [stream_request(t) for t in command["tokens"]]
            else:
                requests = [naive_request(u) for u in command["users"]]
            result = await client.open(command["url"], requests)
        elif name == "stall":
            for token in command["tokens"]:
                client.stall(command["url"], stream_request(token))
            result = {"stalled": len(client.stalled)}
        elif name == "drain":
            result = {
                "latencies": client.latencies,
                "deliveries": client.deliveries,
                "arrivals": client.arrivals,
                "lost": client.lost,
            }
            client.latencies, client.deliveries, client.arrivals = [], [], []
        elif name == "unstall":
            for sock in client.stalled:
                sock.close()
            result = {"unstalled": len(client.stalled)}
            client.stalled = []
        elif name == "close":
            client.close_all()
            result = {"closed": True}
        else:
            result = {"error": f"unknown command {name}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
