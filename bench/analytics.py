"""Analytics benchmark on PostgreSQL: summary latency for 1k vs 1M events, export throughput.

    PYTHONPATH=src:. python bench/analytics.py [--events 1000000] [--rows 1000000] [--requests 200]

What it does, bounded in time (every wait has a timeout):

1. Creates a throwaway database, migrates it, starts ``aiclone serve --no-worker`` in a
   subprocess (uvicorn, one process) and registers two users through the API.
2. Seeds events with ``generate_series`` (1k for the small user, ``--events`` for the big one,
   spread over the past year, every event type), then builds the counters with the real
   ``rebuild`` (timed: that is the backfill cost).
3. Summary latency: ``--requests`` sequential requests per user and time range; p50/p99 and the
   big/small ratio.
4. Exports ``--rows`` activity rows of the big user as CSV and XLSX through HTTP, measuring rows/s,
   the server's RSS growth (sampled from /proc every 20 ms) and /health latency while it runs;
   next to PostgreSQL's own ``COPY (SELECT …) TO STDOUT`` of the same rows (asyncpg
   ``copy_from_query``) as the ceiling.

The client is this process; the server is a separate process. Needs PostgreSQL at
AICLONE_BENCH_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from aiclone import migrate
from aiclone.analytics.counters import AnalyticsCounterHook
from aiclone.analytics.rebuild import rebuild
from aiclone.db import Database
from aiclone.events.broker import MemoryBroker
from aiclone.events.log import EventLog

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "AICLONE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "a long enough passphrase 42"
RANGES = ["day", "week", "month", "quarter", "year"]


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- database ----------------------------------------------------------------------------------


async def create_database() -> str:
    name = f"aiclone_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn(ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(dsn(ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


SEED_EVENTS = """
WITH s AS (
    SELECT i, i % 20 AS k, $2::timestamptz + (i::float8 / $3) * interval '365 days' AS at
    FROM generate_series(1, $3) AS i
)
INSERT INTO events (user_id, seq, type, data, by_automation, created_at)
SELECT $1, i,
    CASE WHEN k < 6 THEN 'prospect_added'
         WHEN k < 9 OR k IN (12, 13) THEN 'prospect_updated'
         WHEN k < 12 THEN 'outreach_sent'
         WHEN k < 17 THEN 'task_completed'
         WHEN k = 17 THEN 'content_published'
         WHEN k = 18 THEN 'automation_triggered'
         ELSE 'notification' END,
    CASE WHEN k < 6 THEN jsonb_build_object('id', 'p' || i, 'name', 'Prospect ' || i,
                                             'approval_status', CASE WHEN k = 5 THEN 'approved' ELSE 'pending' END)
         WHEN k < 9 THEN jsonb_build_object('id', 'p' || (i - k), 'changes', '[]'::jsonb, 'reason', 'approved')
         WHEN k < 12 THEN jsonb_build_object('id', 'o' || i, 'prospect_id', 'p' || (i - k + 1))
         WHEN k = 12 THEN jsonb_build_object('id', 'p' || (i - k), 'changes', '[]'::jsonb, 'reason', 'meeting_booked')
         WHEN k = 13 THEN jsonb_build_object('id', 'p' || (i - k), 'changes', '["name"]'::jsonb, 'reason', 'edited')
         WHEN k < 17 THEN jsonb_build_object('id', 't' || i, 'status', CASE WHEN k = 16 THEN 'failed' ELSE 'done' END)
         ELSE jsonb_build_object('id', 'x' || i) END,
    false, at
FROM s
"""

SEED_ACTIVITIES = """
INSERT INTO activities (id, user_id, type, title, message, link, metadata, source_seq, created_at)
SELECT gen_random_uuid(), $1,
    (ARRAY['prospect_added', 'outreach_sent', 'task_completed', 'content_published'])[1 + i % 4],
    CASE WHEN i % 100 = 0 THEN '=HYPERLINK("http://x/' || i || '")' ELSE 'Prospect added: Person ' || i END,
    'Person ' || i || ' at Company ' || (i % 997) || ', "quoted", with commas',
    '/prospects/' || i,
    jsonb_build_object('event_type', 'prospect_added', 'seq', i),
    i,
    $2::timestamptz + (i::float8 / $3) * interval '300 days'
FROM generate_series(1, $3) AS i
"""

COPY_QUERY = """
SELECT id, created_at, type, title, message, link, source_seq, metadata FROM activities
WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id
"""


async def seed(
    url: str, small: uuid.UUID, big: uuid.UUID, events: int, rows: int, start: dt.datetime
) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        for user, count in ((small, 1000), (big, events)):
            t0 = time.perf_counter()
            await conn.execute(SEED_EVENTS, user, start, count, timeout=900)
            await conn.execute(
                "INSERT INTO event_counters (user_id, last_seq) VALUES ($1, $2)"
                " ON CONFLICT (user_id) DO UPDATE SET last_seq = excluded.last_seq",
                user,
                count,
            )
            print(
                f"  seeded {count:>9,} events for {'small' if user == small else 'big'}"
                f" in {time.perf_counter() - t0:.1f}s"
            )
        t0 = time.perf_counter()
        await conn.execute(SEED_ACTIVITIES, big, start, rows, timeout=900)
        await conn.execute("ANALYZE")
        print(f"  seeded {rows:>9,} activity rows in {time.perf_counter() - t0:.1f}s")
    finally:
        await conn.close()


async def timed_rebuild(url: str) -> tuple[float, int]:
    db = Database(url, pool_size=1)
    try:
        t0 = time.perf_counter()
        report = await rebuild(db)
        elapsed = time.perf_counter() - t0
    finally:
        await db.dispose()
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE analytics_counters")
    finally:
        await conn.close()
    return elapsed, report.counter_rows


async def copy_baseline(url: str, user: uuid.UUID, start: dt.datetime, end: dt.datetime) -> tuple[float, int]:
    conn = await asyncpg.connect(dsn(url))
    received = 0

    async def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    try:
        t0 = time.perf_counter()
        await conn.copy_from_query(
            COPY_QUERY, user, start, end, output=sink, format="csv", header=True, timeout=600
        )
        return time.perf_counter() - t0, received
    finally:
        await conn.close()


async def hook_cost(url: str, user: uuid.UUID, n: int) -> tuple[float, float]:
    """Events/s recording one outreach_sent per transaction, without and with the counter hook."""
    db = Database(url, pool_size=2)
    rates = []
    try:
        for hooked in (False, True):
            log = EventLog(MemoryBroker())
            if hooked:
                log.add_hook(AnalyticsCounterHook())
            t0 = time.perf_counter()
            for _ in range(n):
                async with db.session() as session:
                    await log.record(
                        session, user_id=user, type="outreach_sent", data={"id": "o", "prospect_id": "p1"}
                    )
            rates.append(n / (time.perf_counter() - t0))
    finally:
        await db.dispose()
    return rates[0], rates[1]


# -- server ------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(url: str, data_dir: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "AICLONE_DATABASE_URL": url,
        "AICLONE_DATA_DIR": data_dir,
        "AICLONE_SECRET_KEY": "bench-secret-" + "x" * 40,
        "AICLONE_AUTO_MIGRATE": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
        # The benchmark is the only client; per-user limits would cut its request series short.
        "AICLONE_RATE_LIMIT_ENABLED": "false",
        "AICLONE_ARGON2_TIME_COST": "2",
        "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
        "AICLONE_ARGON2_PARALLELISM": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiclone", "serve", "--no-worker", "--port", str(port)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def sign_up(base: str, email: str) -> tuple[uuid.UUID, dict[str, str]]:
    r = httpx.post(
        f"{base}/api/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Bench"}
    )
    r.raise_for_status()
    token = httpx.post(f"{base}/api/auth/login", data={"username": email, "password": PASSWORD}).json()
    return uuid.UUID(r.json()["id"]), {"Authorization": f"Bearer {token['access_token']}"}


# -- measurements ------------------------------------------------------------------------------


def summary_latency(base: str, headers: dict[str, str], time_range: str, tz: str, n: int) -> list[float]:
    samples: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for i in range(n + 20):
            t0 = time.perf_counter()
            r = client.get("/api/analytics/summary", params={"time_range": time_range, "tz": tz})
            elapsed = time.perf_counter() - t0
            r.raise_for_status()
            if i >= 20:
                samples.append(elapsed * 1000)
    return samples


def _probe(base: str, pid: int, stop: Any, out: Any) -> None:
    """In its own process (so the client's GIL never delays it): server RSS every 20 ms and
    /health latency every 50 ms, until ``stop`` is set; results go to ``out``."""
    peak = baseline = rss_kib(pid)
    health: list[float] = []
    next_probe = time.monotonic()
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.wait(0.02):
            peak = max(peak, rss_kib(pid))
            if time.monotonic() >= next_probe:
                t0 = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    client.get("/health")
                    health.append((time.perf_counter() - t0) * 1000)
                next_probe = time.monotonic() + 0.05
    out.put((baseline, peak, health))


def raw_post(base: str, path: str, headers: dict[str, str], payload: bytes) -> tuple[float, float, int, int]:
    """POST over a plain socket and decode the chunked body with bytes.find (a light client)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=600)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(payload)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    t0 = time.perf_counter()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    buffer = bytearray()
    first_byte = 0.0
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(1 << 16)
    header_end = buffer.index(b"\r\n\r\n") + 4
    assert b" 200 " in buffer[:header_end].split(b"\r\n")[0], bytes(buffer[:200])
    del buffer[:header_end]
    received = lines = 0
    while True:
        while b"\r\n" not in buffer:
            data = sock.recv(1 << 20)
            if not data:
                raise RuntimeError("connection closed mid-stream")
            buffer += data
        line_end = buffer.index(b"\r\n")
        size = int(buffer[:line_end], 16)
        if size == 0:
            break
        while len(buffer) < line_end + 2 + size + 2:
            data = sock.recv(1 << 20)
            if not data:
                raise RuntimeError("connection closed mid-stream")
            buffer += data
        if not received:
            first_byte = time.perf_counter() - t0
        received += size
        lines += buffer.count(b"\n", line_end + 2, line_end + 2 + size)
        del buffer[: line_end + 2 + size + 2]
    elapsed = time.perf_counter() - t0
    sock.close()
    return elapsed, first_byte, received, lines


def export(
    base: str, headers: dict[str, str], pid: int, fmt: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    body = {
        "data_type": "activities",
        "format": fmt,
        "date_range": {"start": start.isoformat(), "end": end.isoformat()},
    }
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    probe = context.Process(target=_probe, args=(base, pid, stop, out))
    probe.start()
    time.sleep(0.5)
    try:
        elapsed, first_byte, received, lines = raw_post(
            base,
            "/api/analytics/export",
            {**headers, "Content-Type": "application/json"},
            json.dumps(body).encode(),
        )
    finally:
        stop.set()
        baseline, peak, health = out.get(timeout=60)
        probe.join(timeout=30)
    return {
        "seconds": elapsed,
        "bytes": received,
        "lines": lines,
        "first_byte_s": first_byte,
        "rss_growth_mb": (peak - baseline) / 1024,
        "health_p50_ms": statistics.median(health) if health else float("nan"),
        "health_p99_ms": pct(health, 0.99) if health else float("nan"),
        "health_max_ms": max(health) if health else float("nan"),
        "health_n": len(health),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-xlsx", action="store_true")
    args = parser.parse_args()

    url = asyncio.run(create_database())
    print(f"database {make_url(url).database}")
    try:
        migrate.upgrade(url)
        now = dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(days=365)
        with tempfile.TemporaryDirectory() as data_dir, server(url, data_dir) as (base, proc):
            small, small_headers = sign_up(base, f"small-{uuid.uuid4().hex[:6]}@example.com")
            big, big_headers = sign_up(base, f"big-{uuid.uuid4().hex[:6]}@example.com")
            print("seeding")
            asyncio.run(seed(url, small, big, args.events, args.rows, start))
            seconds, counter_rows = asyncio.run(timed_rebuild(url))
            total = args.events + 1000
            print(
                f"rebuild from events: {total:,} events -> {counter_rows:,} counter rows in {seconds:.1f}s"
                f" ({total / seconds:,.0f} events/s)"
            )

            print(f"\nsummary latency, {args.requests} sequential requests each (ms)")
            print(
                f"{'range':<9}{'tz':<14}{'1k p50':>8}{'1k p99':>8}"
                f"{f'{args.events // 1000}k p50':>10}{'p99':>8}{'ratio p50':>11}"
            )
            for time_range in RANGES:
                for tz in ("UTC", "Asia/Kolkata") if time_range in ("day", "year") else ("UTC",):
                    a = summary_latency(base, small_headers, time_range, tz, args.requests)
                    b = summary_latency(base, big_headers, time_range, tz, args.requests)
                    print(
                        f"{time_range:<9}{tz:<14}{pct(a, 0.5):>8.2f}{pct(a, 0.99):>8.2f}{pct(b, 0.5):>10.2f}"
                        f"{pct(b, 0.99):>8.2f}{pct(b, 0.5) / pct(a, 0.5):>11.2f}"
                    )

            bare, hooked = asyncio.run(hook_cost(url, small, 2000))
            print(
                f"\nevent write cost, 2,000 one-event transactions: {bare:,.0f}/s without the counter hook,"
                f" {hooked:,.0f}/s with it ({(1 / hooked - 1 / bare) * 1000:+.2f} ms per event)"
            )

            window_start, window_end = start, start + dt.timedelta(days=301)
            copy_seconds, copy_bytes = asyncio.run(copy_baseline(url, big, window_start, window_end))
            copy_rate = args.rows / copy_seconds
            print(f"\nexport of {args.rows:,} rows")
            print(
                f"  COPY (SELECT ...) TO STDOUT csv: {copy_seconds:6.2f}s {copy_rate:>10,.0f} rows/s"
                f" {copy_bytes / 1e6:7.1f} MB"
            )
            for fmt in ("csv", "xlsx"):
                if fmt == "xlsx" and args.skip_xlsx:
                    continue
                result = export(base, big_headers, proc.pid, fmt, window_start, window_end)
                rate = args.rows / result["seconds"]
                extra = f"  rows seen {result['lines'] - 1:,}" if fmt == "csv" else ""
                print(
                    f"  {fmt:<4} through HTTP:          {result['seconds']:6.2f}s {rate:>10,.0f} rows/s"
                    f" {result['bytes'] / 1e6:7.1f} MB  ratio to COPY {rate / copy_rate:.2f}"
                    f"  first byte {result['first_byte_s']:.2f}s  RSS growth {result['rss_growth_mb']:.1f} MB"
                    f"  /health during it: p50 {result['health_p50_ms']:.1f} ms, p99 {result['health_p99_ms']:.1f} ms,"
                    f" max {result['health_max_ms']:.1f} ms"
                    f" (n={result['health_n']}){extra}"
                )
    finally:
        asyncio.run(drop_database(url))


if __name__ == "__main__":
    main()
