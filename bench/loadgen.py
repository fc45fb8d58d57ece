"""A small HTTP/1.1 keep-alive load generator, used when ``wrk`` is not installed.

It runs in its own process (never in the server's), opens ``--connections`` connections and
sends requests (GET by default) back to back on each for ``--duration`` seconds, then prints one JSON line:
requests/s, p50/p99 latency in milliseconds and the count of non-200 answers. Python costs far
more per request than wrk, so on a small machine this client can be the bottleneck: compare
ratios from one run, not absolute figures across tools.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
    uvloop = None


async def _connection(
    host: str,
    port: int,
    request: bytes,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
    expect: bytes = b"200",
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (started := time.perf_counter()) < stop_at:
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status_line.split(b" ", 2)[1:2] != [expect]:
                errors.append(1)
    finally:
        writer.close()


async def run(
    url: str,
    headers: list[str],
    connections: int,
    duration: float,
    *,
    method: str = "GET",
    body: bytes = b"",
    expect: int = 200,
    authorizations: list[str] | None = None,
) -> dict[str, float]:
    """``authorizations``: one Authorization value per connection, round robin (many users)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"

    def request(auth: str | None) -> bytes:
        extra = [f"Authorization: {auth}"] if auth else []
        if body:
            extra += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", *headers, *extra, "", ""]
        return "\r\n".join(lines).encode() + body

    auths = authorizations or [None]  # type: ignore[list-item]
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + duration
    status = str(expect).encode()
    await asyncio.gather(
        *(
            _connection(host, port, request(auths[i % len(auths)]), stop_at, latencies, errors, status)
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="", help="a JSON request body, sent with every request")
    parser.add_argument("--expect", type=int, default=200, help="the status that counts as success")
    parser.add_argument(
        "--authorizations", default=None, help="a file of Authorization values, one per connection in turn"
    )
    args = parser.parse_args()
    auths = Path(args.authorizations).read_text().split("\n") if args.authorizations else None
    work = run(
        args.url,
        args.header,
        args.connections,
        args.duration,
        method=args.method,
        body=args.body.encode(),
        expect=args.expect,
        authorizations=[a for a in auths if a] if auths else None,
    )
    runner = uvloop.run if uvloop is not None else asyncio.run
    print(json.dumps(runner(work)))


if __name__ == "__main__":
    main()
