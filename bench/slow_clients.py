"""How long a dripping client holds a connection to ``aiclone serve``, per HTTP server.

For each server (run side by side, one ``aiclone serve`` each on a fresh SQLite data directory)
three clients send one byte every ``--every`` seconds: request headers that never end, a body
to a public route that reads it (``POST /api/auth/register``), and a body to a route that
refuses the request before reading it (``POST /api/prospects`` without credentials). Printed:
the seconds until the server closed each connection, or ``>= cap`` if it was still open after
``--cap`` seconds, and what it answered.

    .venv/bin/python bench/slow_clients.py                      # product defaults, 1 byte / 5 s
    .venv/bin/python bench/slow_clients.py --header-timeout 2 --body-timeout 2 --every 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(
    server: str, data_dir: Path, settings: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "AICLONE_ENV": "test",
            "AICLONE_DATA_DIR": str(data_dir),
            "AICLONE_SECRET_KEY": SECRET,
            "AICLONE_LOG_LEVEL": "WARNING",
            "AICLONE_RATE_LIMIT_ENABLED": "false",
            **settings,
        }
    )
    command = [
        sys.executable,
        "-m",
        "aiclone",
        "serve",
        "--port",
        str(port),
        "--server",
        server,
        "--no-worker",
    ]
    proc = subprocess.Popen(
        command, env=env, cwd=data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return proc, port
            await asyncio.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{server} did not start")


async def _drip(port: int, head: bytes, drip: bytes, every: float, cap: float) -> tuple[float | None, str]:
    """Seconds until the server closed the connection (None: still open after ``cap``) and the
    status line of what it answered, if anything. Dripping goes on after an answer: a server
    that answers early but keeps reading the rest holds the connection all the same."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    started = time.monotonic()
    received = bytearray()

    async def read_all() -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                received.extend(chunk)

    reading = asyncio.ensure_future(read_all())
    try:
        for byte in drip:
            if time.monotonic() - started > cap:
                return None, _status(received)
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reading), timeout=every)
                break
        else:
            return None, "all bytes sent"
        return time.monotonic() - started, _status(received)
    finally:
        reading.cancel()
        writer.close()


def _status(received: bytes | bytearray) -> str:
    return bytes(received).split(b"\r\n", 1)[0].decode("latin-1") if received else "no answer"


async def _measure(server: str, args: argparse.Namespace, settings: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=f"slow-{server}-") as tmp:
        proc, port = await _start(server, Path(tmp), settings)
        try:
            body_head = "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
            cases = {
                "headers": (b"GET /health HTTP/1.1\r\nHost: bench\r\n", b"X-Slow: " + b"a" * 4000),
                "body, read by the route": (
                    f"POST /api/auth/register HTTP/1.1\r\nHost: bench\r\n{body_head}".encode(),
                    b'{"email": "' + b"a" * 3990,
                ),
                "body, refused unread (401)": (
                    f"POST /api/prospects HTTP/1.1\r\nHost: bench\r\n{body_head}".encode(),
                    b'{"name": "' + b"a" * 3990,
                ),
            }
            results = await asyncio.gather(
                *(_drip(port, head, drip, args.every, args.cap) for head, drip in cases.values())
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    lines = []
    for name, (took, answer) in zip(cases, results, strict=True):
        shown = f">= {args.cap:.0f} s still open  {answer}" if took is None else f"{took:6.1f} s  {answer}"
        lines.append(f"{server:8} {name:28} {shown}")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", default="uvicorn,granian")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between bytes (5)")
    parser.add_argument("--cap", type=float, default=90.0, help="give up after this many seconds (90)")
    parser.add_argument("--header-timeout", type=float, help="AICLONE_HEADER_TIMEOUT_SECONDS")
    parser.add_argument("--body-timeout", type=float, help="AICLONE_BODY_TIMEOUT_SECONDS")
    args = parser.parse_args()
    settings = {}
    if args.header_timeout is not None:
        settings["AICLONE_HEADER_TIMEOUT_SECONDS"] = str(args.header_timeout)
    if args.body_timeout is not None:
        settings["AICLONE_BODY_TIMEOUT_SECONDS"] = str(args.body_timeout)
    print(f"one byte every {args.every:g} s, settings {settings or 'defaults'}")
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    for lines in await asyncio.gather(*(_measure(server, args, settings) for server in servers)):
        print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
