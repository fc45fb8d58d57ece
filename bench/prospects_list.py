"""Benchmark: listing prospects, and events written per second by creating them.

1. List: a fresh PostgreSQL database holds 100k prospects across 100 users. One uvicorn process
   serves the real app plus a raw asyncpg + msgspec route doing the same query (bench/
   prospects_app.py). A load generator in a separate process drives ``GET /api/prospects``
   (50 items, authenticated) and the raw route in turn, with the same connections and tokens.
   Goal: the real endpoint at >= 60% of the raw handler's req/s.
2. Events: ``POST /api/prospects`` against the real server on PostgreSQL and on SQLite; every
   201 wrote one prospect plus its ``prospect_added`` event in one transaction. The rows in
   the events table are counted afterwards.

Every run is bounded (``--seconds`` each, default 5). Usage:

    PYTHONPATH=src:. python bench/prospects_list.py [--seconds 5] [--connections 32]

PostgreSQL comes from AICLONE_BENCH_POSTGRES_URL (default postgres@127.0.0.1:5432); the bench
database is created and dropped by the script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from aiclone import migrate  # noqa: E402
from aiclone.auth.models import User  # noqa: E402
from aiclone.auth.tokens import TokenCodec  # noqa: E402
from aiclone.db import build_engine  # noqa: E402
from aiclone.events.models import Event  # noqa: E402
from aiclone.settings import AuthSettings  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "AICLONE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
USERS = 100
PROSPECTS = 100_000
LIST_PATH = "/api/prospects?limit=50"
RAW_PATH = "/bench/raw/prospects?limit=50"


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- load generator (runs in its own process) --------------------------------------------------


async def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 clients, one request in flight each, for a fixed time."""
    host, port = spec["host"], spec["port"]
    tokens: list[str] = spec["tokens"]
    method, path, post_json = spec["method"], spec["path"], spec["method"] == "POST"
    deadline = time.perf_counter() + spec["seconds"]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    def request_bytes(i: int) -> bytes:
        token = tokens[i % len(tokens)]
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        if not post_json:
            return (head + "\r\n").encode()
        body = json.dumps(
            {
                "name": f"Bench {i}",
                "email": f"{uuid.uuid4().hex}@bench.example",
                "fit_score": i % 101,
                "tags": ["bench"],
            }
        ).encode()
        return (
            head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = n
        try:
            while time.perf_counter() < deadline:
                payload = request_bytes(i)
                i += spec["connections"]
                started = time.perf_counter()
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                lowered = head.lower()
                at = lowered.index(b"content-length:") + len(b"content-length:")
                length = int(lowered[at : lowered.index(b"\r\n", at)])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses[int(head[9:12])] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(spec["connections"])))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def load_main() -> None:
    spec = json.loads(sys.stdin.read())
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_drive(spec))))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to compare cost per request under noise."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    port: int,
    tokens: list[str],
    *,
    method: str,
    path: str,
    seconds: float,
    connections: int,
    pid: int | None = None,
) -> dict[str, Any]:
    spec = {
        "host": "127.0.0.1",
        "port": port,
        "tokens": tokens,
        "method": method,
        "path": path,
        "seconds": seconds,
        "connections": connections,
    }
    before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(
        [sys.executable, __file__, "load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    if out.returncode != 0:
        raise SystemExit(f"the load generator failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout)
    if pid and result["requests"]:
        result["server_cpu_us"] = 1e6 * (cpu_seconds(pid) - before) / result["requests"]
    return result


# --- database and server -------------------------------------------------------------------------


async def create_pg_database() -> str:
    name = f"aiclone_bench_prospects_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn(PG_ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(dsn(PG_ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed_users(url: str) -> list[tuple[uuid.UUID, str]]:
    now = dt.datetime.now(dt.UTC)
    users = [(uuid.uuid4(), f"bench{i}@bench.example") for i in range(USERS)]
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(User),
                [
                    {
                        "id": user_id,
                        "email": email,
                        "full_name": "Bench",
                        "password_hash": "!",  # no password: tokens are issued directly
                        "role": "user",
                        "is_active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for user_id, email in users
                ],
            )
    finally:
        await engine.dispose()
    return users


async def seed_prospects(url: str, users: list[tuple[uuid.UUID, str]]) -> float:
    started = time.perf_counter()
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    per_user = PROSPECTS // len(users)
    records = []
    for u, (user_id, _) in enumerate(users):
        for i in range(per_user):
            created = base + dt.timedelta(seconds=u * per_user + i)
            records.append(
                (
                    uuid.uuid4(), user_id, f"Prospect {u}-{i}", f"p{i}@company{u}.example", f"p{i}@company{u}.example",
                    None, "Head of Sales", f"Company {i % 300}", f"https://company{i % 300}.example", None,
                    "bench", ("pending", "approved", "rejected")[i % 3], i % 101, (i * 7) % 101, (i * 13) % 101,
                    "Warm intro through a shared investor.", None, json.dumps(["saas", f"t{i % 10}"]), None,
                    i % 4, i % 3, i % 2, None, created, created,
                )
            )  # fmt: skip
    columns = [
        "id", "user_id", "name", "email", "email_normalized", "phone", "job_title", "company", "website",
        "linkedin", "discovery_source", "approval_status", "fit_score", "referral_capacity", "signal_strength",
        "best_outreach_angle", "scoring_reasoning", "tags", "notes", "drafts_generated", "emails_sent",
        "meetings_booked", "last_contacted", "created_at", "updated_at",
    ]  # fmt: skip
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.copy_records_to_table("prospects", records=records, columns=columns)
        await conn.execute("ANALYZE prospects")
    finally:
        await conn.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(url: str, secret: str, data_dir: str, pool_size: int) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "AICLONE_DATABASE_URL": url,
        "AICLONE_SECRET_KEY": secret,
        "AICLONE_DATA_DIR": data_dir,
        "AICLONE_RUN_WORKERS": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
        "AICLONE_DATABASE_POOL_SIZE": str(pool_size),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "--factory",
        "prospects_app:create_bench_app", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def issue_tokens(secret: str, users: list[tuple[uuid.UUID, str]]) -> list[str]:
    codec = TokenCodec(AuthSettings(secret_key=secret, access_token_ttl_seconds=3600))
    return [codec.issue(user_id=user_id, email=email, role="user").token for user_id, email in users]


async def count_events(url: str) -> int:
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Event))).scalar_one())
    finally:
        await engine.dispose()


async def sessions_opened(url: str) -> int:
    """Connections ever opened to the database (PostgreSQL 14+ statistics)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        value = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return int(value or 0)


# The baseline of a write: what the API does in its transaction, as plain SQL.
RAW_INSERT_PROSPECT = (
    "INSERT INTO prospects (id, user_id, name, email, email_normalized, approval_status, fit_score,"
    " referral_capacity, signal_strength, tags, drafts_generated, emails_sent, meetings_booked,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $4, 'pending', 0, 0, 0, '[\"bench\"]', 0, 0, 0, $5, $5)"
)
RAW_NEXT_SEQ = (
    "INSERT INTO event_counters (user_id, last_seq) VALUES ($1, 1) ON CONFLICT (user_id)"
    " DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq"
)
RAW_INSERT_EVENT = (
    "INSERT INTO events (user_id, seq, type, data, by_automation, created_at)"
    " VALUES ($1, $2, 'prospect_added', $3, false, $4)"
)


async def raw_pg_writes(
    url: str, users: list[tuple[uuid.UUID, str]], *, seconds: float, concurrency: int
) -> float:
    pool = await asyncpg.create_pool(dsn(url), min_size=concurrency, max_size=concurrency)
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer(n: int) -> None:
        nonlocal done
        i = n
        while time.perf_counter() < deadline:
            user_id = users[i % len(users)][0]
            i += concurrency
            now = dt.datetime.now(dt.UTC)
            prospect_id, email = uuid.uuid4(), f"{uuid.uuid4().hex}@raw.example"
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(RAW_INSERT_PROSPECT, prospect_id, user_id, f"Raw {i}", email, now)
                seq = await conn.fetchval(RAW_NEXT_SEQ, user_id)
                data = json.dumps({"id": str(prospect_id), "name": f"Raw {i}", "email": email})
                await conn.execute(RAW_INSERT_EVENT, user_id, seq, data, now)
                await conn.execute("SELECT pg_notify('aiclone_bench', $1)", data)
            done += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(writer(n) for n in range(concurrency)))
    finally:
        await pool.close()
    return done / (time.perf_counter() - started)


def raw_sqlite_writes(path: Path, users: list[tuple[uuid.UUID, str]], seconds: float) -> float:
    import sqlite3  # noqa: PLC0415 - only this baseline uses the synchronous driver

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    sql_prospect = RAW_INSERT_PROSPECT.replace("$5", "?5").replace("$4", "?4").replace("$3", "?3")
    sql_prospect = sql_prospect.replace("$2", "?2").replace("$1", "?1")
    sql_seq = RAW_NEXT_SEQ.replace("$1", "?1")
    sql_event = (
        RAW_INSERT_EVENT.replace("$4", "?4").replace("$3", "?3").replace("$2", "?2").replace("$1", "?1")
    )
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    try:
        while time.perf_counter() < deadline:
            user_id = users[done % len(users)][0].hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits
            now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            prospect_id, email = uuid.uuid4().hex, f"{uuid.uuid4().hex}@raw.example"
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql_prospect, (prospect_id, user_id, f"Raw {done}", email, now))
            seq = conn.execute(sql_seq, (user_id,)).fetchone()[0]
            conn.execute(sql_event, (user_id, seq, json.dumps({"id": prospect_id, "email": email}), now))
            conn.execute("COMMIT")
            done += 1
    finally:
        conn.close()
    return done / (time.perf_counter() - started)


def line(label: str, r: dict[str, Any]) -> str:
    return (
        f"  {label:<28} {r['rps']:>8.0f} req/s   p50 {r['p50_ms']:>6.1f} ms   p99 {r['p99_ms']:>6.1f} ms"
        f"   server CPU {r.get('server_cpu_us', 0):>5.0f} us/req   ({r['requests']} requests, statuses {r['statuses']}"
        + (f", {r['sessions']} new connections)" if "sessions" in r else ")")
    )


def check_ok(r: dict[str, Any], status: str) -> None:
    bad = {k: v for k, v in r["statuses"].items() if k != status}
    if bad:
        raise SystemExit(f"unexpected statuses {bad}")


async def bench(args: argparse.Namespace) -> None:
    secret = secrets.token_urlsafe(48)
    seconds, conns = args.seconds, args.connections
    pg_url = await create_pg_database()
    tmp = tempfile.mkdtemp(prefix="aiclone-bench-")
    try:
        await asyncio.to_thread(migrate.upgrade, pg_url)
        users = await seed_users(pg_url)
        seeded = await seed_prospects(pg_url, users)
        print(f"PostgreSQL: {PROSPECTS} prospects across {USERS} users seeded in {seeded:.1f}s (COPY)")
        tokens = issue_tokens(secret, users)

        print(
            f"\nList 50 prospects (authenticated), {conns} connections, {seconds:.0f}s per run, 1 server process"
        )
        with server(pg_url, secret, tmp, args.pool_size or conns) as (port, pid):
            for path in (LIST_PATH, RAW_PATH):  # warm up pools and caches
                run_load(port, tokens, method="GET", path=path, seconds=1, connections=conns)
            results: dict[str, list[dict[str, Any]]] = {"real": [], "raw": []}
            for _ in range(args.rounds):
                for name, path in (("real", LIST_PATH), ("raw", RAW_PATH)):
                    opened = await sessions_opened(pg_url)
                    r = run_load(
                        port, tokens, method="GET", path=path, seconds=seconds, connections=conns, pid=pid
                    )
                    r["sessions"] = await sessions_opened(pg_url) - opened - 1  # minus this probe's
                    check_ok(r, "200")
                    results[name].append(r)
                    print(line(f"{name} {path.split('?')[0]}", r))
        real = statistics.median(r["rps"] for r in results["real"])
        raw = statistics.median(r["rps"] for r in results["raw"])
        print(
            f"  => real / raw = {real:.0f} / {raw:.0f} = {100 * real / raw:.0f}% of the raw throughput (goal >= 60%)"
        )
        real_cpu = statistics.median(r["server_cpu_us"] for r in results["real"])
        raw_cpu = statistics.median(r["server_cpu_us"] for r in results["raw"])
        print(
            f"  => server CPU per request: real {real_cpu:.0f} us, raw {raw_cpu:.0f} us;"
            f" raw / real = {100 * raw_cpu / real_cpu:.0f}% (the same ratio, robust to a busy machine)"
        )

        if args.list_only:
            return

        print(
            f"\nEvents written per second: POST /api/prospects, {conns} connections, {seconds:.0f}s per run"
        )
        print("  (each 201 = one prospect row + its prospect_added event, one transaction)")
        before = await count_events(pg_url)
        with server(pg_url, secret, tmp, args.pool_size or conns) as (port, pid):
            r = run_load(
                port,
                tokens,
                pid=pid,
                method="POST",
                path="/api/prospects",
                seconds=seconds,
                connections=conns,
            )
        check_ok(r, "201")
        api_rate = (await count_events(pg_url) - before) / r["seconds"]
        raw_rate = await raw_pg_writes(pg_url, users, seconds=seconds, concurrency=conns)
        print(line("PostgreSQL API", r))
        print(
            f"  {'':<28} {api_rate:>8.0f} events/s; raw asyncpg, same 4 statements: {raw_rate:.0f}/s"
            f" => API = {100 * api_rate / raw_rate:.0f}% of raw"
        )

        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, sqlite_url)
        sqlite_users = await seed_users(sqlite_url)
        sqlite_tokens = issue_tokens(secret, sqlite_users)
        with server(sqlite_url, secret, tmp, args.pool_size or conns) as (port, pid):
            r = run_load(
                port,
                sqlite_tokens,
                pid=pid,
                method="POST",
                path="/api/prospects",
                seconds=seconds,
                connections=conns,
            )
        check_ok(r, "201")
        api_rate = await count_events(sqlite_url) / r["seconds"]
        raw_rate = await asyncio.to_thread(raw_sqlite_writes, Path(tmp) / "bench.db", sqlite_users, seconds)
        print(line("SQLite API", r))
        print(
            f"  {'':<28} {api_rate:>8.0f} events/s; raw sqlite3, same statements, one writer: {raw_rate:.0f}/s"
            f" => API = {100 * api_rate / raw_rate:.0f}% of raw"
        )
        print(f"\nLoad average of the machine at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    finally:
        await drop_pg_database(pg_url)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run (max 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--pool-size",
        type=int,
        default=0,
        help="AICLONE_DATABASE_POOL_SIZE of the server (default: --connections, so no pool churns)",
    )
    parser.add_argument("--list-only", action="store_true", help="skip the events-per-second part")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating real/raw rounds; medians are compared"
    )
    args = parser.parse_args()
    args.seconds = min(args.seconds, 10.0)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
