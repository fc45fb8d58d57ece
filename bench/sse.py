"""Live events benchmark: streams per process, memory per stream, fan-out latency.

    python bench/sse.py                      # PostgreSQL (AICLONE_BENCH_POSTGRES_URL or the local one)
    python bench/sse.py --backend sqlite     # no cross-instance phase
    python bench/sse.py --streams 5000 --latency-streams 3000   # a quicker run

Roles, each its own process: the orchestrator (this, by default), ``server`` (the real
``aiclone serve`` command with one extra route that commits an event stamped with the time,
so a publish is a real transaction through the real event log and broker), ``naive`` (the
baseline: Litestar's ``ServerSentEvent`` over one ``asyncio.Queue`` per stream, no database) and
``load`` (a lean client on raw asyncio sockets holding thousands of streams and timing frames
as they arrive). Latency is receive time minus the publish stamp (same machine, same clock).

Phases: baseline memory with N naive streams; our server: memory at the latency size and at
N, per-user publish -> receive latency, the same with stalled clients present, admin broadcast
to every stream, and (PostgreSQL) publish through a second instance. Every phase is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sse_load import load_main
from sse_servers import raise_fd_limit, run_naive, run_server

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
SECRET = "bench-secret-key-" + "b" * 40
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- orchestrator


class Load:
    """The load-client process, driven over its stdin/stdout."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "load",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            limit=2**26,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )

    async def call(self, timeout: float = 300, **command: Any) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=timeout)
        if not line:
            raise RuntimeError("the load client exited")
        result: dict[str, Any] = json.loads(line)
        return result

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class ServerProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, ready_url: str, timeout: float = 60) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        import httpx  # noqa: PLC0415

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(verify=False, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(ready_url)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError("server not ready")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def settle_rss(pid: int, seconds: float = 2.0) -> int:
    await asyncio.sleep(seconds)
    return rss_kib(pid)


async def create_users(database_url: str, count: int) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Bulk-insert users (hashing 15k passwords through the API would take minutes)."""
    from sqlalchemy import insert  # noqa: PLC0415

    from aiclone.auth.models import User, UserSession  # noqa: PLC0415
    from aiclone.db import Database, utcnow  # noqa: PLC0415

    db = Database(database_url)
    ids = [uuid.uuid4() for _ in range(count)]
    admin = uuid.uuid4()
    now = utcnow()
    rows = [
        {
            "id": user_id,
            "email": f"bench-{user_id.hex}@example.com",
            "full_name": "Bench",
            # Nobody signs in as these users (their tokens are minted); the hash only fills the column.
            "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "role": "user",
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for user_id in ids
    ]
    rows.append({**rows[0], "id": admin, "email": "bench-admin@example.com", "role": "admin"})
    try:
        async with db.session() as session:
            for start in range(0, len(rows), 2000):
                await session.execute(insert(User), rows[start : start + 2000])
            # One session per user, named by the user's id (the minted tokens carry it).
            sessions = [
                {"id": row["id"], "user_id": row["id"], "created_at": now, "last_used_at": now}
                for row in rows
            ]
            for start in range(0, len(sessions), 2000):
                await session.execute(insert(UserSession), sessions[start : start + 2000])
    finally:
        await db.dispose()
    return ids, admin


def tokens_for(user_ids: list[uuid.UUID], *, role: str = "user") -> list[str]:
    from aiclone.auth.tokens import TokenCodec  # noqa: PLC0415
    from aiclone.settings import AuthSettings  # noqa: PLC0415

    codec = TokenCodec(AuthSettings(secret_key=SECRET, access_token_ttl_seconds=6 * 3600))
    return [
        codec.issue(user_id=u, session_id=u, email=f"bench-{u.hex}@example.com", role=role).token
        for u in user_ids
    ]


async def publish_series(
    url: str, users: list[uuid.UUID], count: int, interval: float, pad: int = 0, *, stamp: bool = True
) -> list[list[Any]]:
    """Publish one event at a time to random users; returns (user, seq, stamp, committed) each."""
    import httpx  # noqa: PLC0415

    rng = random.Random(1)
    commits: list[list[Any]] = []
    async with httpx.AsyncClient(base_url=url, verify=False, timeout=30) as client:
        for _ in range(count):
            started = time.monotonic()
            response = await client.post(
                "/_bench/publish", json={"user_ids": [str(rng.choice(users))], "pad": pad, "stamp": stamp}
            )
            if response.status_code != 201:
                raise RuntimeError(f"publish: {response.status_code} {response.text[:500]}")
            commits += response.json()["commits"]
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    return commits


async def gc_report(url: str) -> str:
    import httpx  # noqa: PLC0415

    async with httpx.AsyncClient(base_url=url, verify=False, timeout=10) as client:
        g = (await client.get("/_bench/gc")).json()
    return (
        f"server GC meanwhile: {g['collections']} collections, {g['gen2']} full,"
        f" longest {g['max_ms']:.1f} ms, total {g['total_ms']:.0f} ms"
    )


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {
        "n": len(ms),
        "p50": pct(ms, 50),
        "p90": pct(ms, 90),
        "p99": pct(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def show(label: str, stats: dict[str, float]) -> None:
    print(
        f"  {label:<44} n={stats['n']:>5}  p50 {stats['p50']:7.2f} ms  p90 {stats['p90']:7.2f} ms"
        f"  p99 {stats['p99']:7.2f} ms  max {stats['max']:7.2f} ms",
        flush=True,
    )


async def bounded(seconds: float, label: str, work: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await asyncio.wait_for(work(), timeout=seconds)
    except TimeoutError:
        print(f"  {label}: did not finish within {seconds:.0f} s", flush=True)
        return None


class Bench:
    """One run: the database, the processes, and the figures gathered so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="aiclone-bench-sse-"))
        self.admin_url = os.environ.get("AICLONE_BENCH_POSTGRES_URL", PG_DEFAULT)
        self.pg_database: str | None = None
        self.database_url = ""
        self.env: dict[str, str] = {}
        self.load = Load()
        self.servers: list[ServerProcess] = []
        self.users: list[uuid.UUID] = []
        self.tokens: list[str] = []
        self.admin_token = ""
        self.results: dict[str, Any] = {}

    async def setup(self) -> None:
        sys.path.insert(0, str(ROOT / "src"))
        from aiclone import migrate  # noqa: PLC0415

        if self.args.backend == "postgresql":
            import asyncpg  # noqa: PLC0415
            from sqlalchemy.engine import make_url  # noqa: PLC0415

            self.pg_database = f"aiclone_bench_sse_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(_dsn(self.admin_url))
            await conn.execute(f'CREATE DATABASE "{self.pg_database}"')
            await conn.close()
            url = make_url(self.admin_url).set(database=self.pg_database)
            self.database_url = url.render_as_string(hide_password=False)
        else:
            self.database_url = f"sqlite+aiosqlite:///{self.work / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, self.database_url)
        self.users, admin = await create_users(
            self.database_url, self.args.streams + 2 * self.args.stalled + 60
        )
        self.tokens = tokens_for(self.users)
        self.admin_token = tokens_for([admin], role="admin")[0]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")},
            "PYTHONPATH": f"{ROOT / 'src'}:{BENCH_DIR}",
            "AICLONE_ENV": "test",
            "AICLONE_DATABASE_URL": self.database_url,
            "AICLONE_DATA_DIR": str(self.work),
            "AICLONE_SECRET_KEY": SECRET,
            "AICLONE_AUTO_MIGRATE": "false",
            "AICLONE_LOG_LEVEL": "WARNING",
            # The minted tokens live as long as the run may (a token longer than the TTL is refused).
            "AICLONE_ACCESS_TOKEN_TTL_SECONDS": str(6 * 3600),
            # The publishes come from one client address far faster than any quota allows.
            "AICLONE_RATE_LIMIT_ENABLED": "false",
        }
        await self.load.start()

    async def teardown(self) -> None:
        with contextlib.suppress(Exception):
            await self.load.call(cmd="close", timeout=30)
        await self.load.stop()
        for server in self.servers:
            server.stop()
        if self.pg_database is not None:
            import asyncpg  # noqa: PLC0415

            conn = await asyncpg.connect(_dsn(self.admin_url))
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
            await conn.close()
        shutil.rmtree(self.work, ignore_errors=True)

    async def start_server(self, name: str, *extra: str) -> tuple[ServerProcess, str]:
        port = free_port()
        server = ServerProcess(
            [sys.executable, __file__, "server", "--port", str(port), "--no-migrate", *extra],
            self.env,
            self.work / f"{name}.log",
        )
        self.servers.append(server)
        url = f"http://127.0.0.1:{port}"
        await server.start(f"{url}/health/ready")
        return server, url

    async def naive_memory(self) -> float:
        """The baseline the issue names, holding the same number of streams."""
        port = free_port()
        naive = ServerProcess(
            [sys.executable, __file__, "naive", str(port)], self.env, self.work / "naive.log"
        )
        self.servers.append(naive)
        url = f"http://127.0.0.1:{port}"
        await naive.start(f"{url}/health")
        await self.load.call(cmd="open", url=url, users=[f"w{i}" for i in range(200)])
        await self.load.call(cmd="close")
        before = await settle_rss(naive.pid)
        opened = await self.load.call(cmd="open", url=url, users=[str(i) for i in range(self.args.streams)])
        after = await settle_rss(naive.pid)
        kib = (after - before) / max(1, opened["opened"])
        print(
            f"\nbaseline (Litestar ServerSentEvent + asyncio.Queue): {opened['opened']} streams"
            f" in {opened['seconds']:.1f} s, RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB,"
            f" {kib:.1f} KiB per stream",
            flush=True,
        )
        await self.load.call(cmd="close")
        naive.stop()
        self.servers.remove(naive)
        self.results["naive_kib"] = kib
        return kib

    async def latency(self, label: str, url: str, users: list[uuid.UUID], gc_url: str) -> dict[str, float]:
        await self.load.call(cmd="drain")
        await gc_report(gc_url)
        commits = (
            await bounded(120, label, lambda: publish_series(url, users, self.args.publishes, 0.01)) or []
        )
        await asyncio.sleep(1)
        drained = await self.load.call(cmd="drain")
        stats = summary(drained["latencies"])
        show(label, stats)
        # The same events timed from the moment their commit returned to the writer: the share
        # of the stream (NOTIFY, listener, fan-out, socket) without the writing transaction.
        committed = {(u, seq): done for u, seq, _, done in commits}
        after_commit = [
            recv - committed[(u, seq)] for u, seq, recv in drained["deliveries"] if (u, seq) in committed
        ]
        txn = summary([done - stamp for _, _, stamp, done in commits])
        delivery = summary(after_commit)
        print(
            f"    the writing transaction: p50 {txn['p50']:.2f} ms, p99 {txn['p99']:.2f} ms;"
            f" commit returned -> received: p50 {delivery['p50']:.2f} ms, p99 {delivery['p99']:.2f} ms"
        )
        print("    " + await gc_report(gc_url), flush=True)
        stats["after_commit_p99"] = delivery["p99"]
        stats["after_commit_p50"] = delivery["p50"]
        return stats

    async def broadcast(self, url: str, expected: int) -> None:
        import httpx  # noqa: PLC0415

        print(f"\nadmin broadcast to every user ({expected} streams open, {len(self.users) + 1} users):")
        await self.load.call(cmd="drain")
        async with httpx.AsyncClient(base_url=url, verify=False, timeout=300) as client:
            started = time.time()
            response = await client.post(
                "/api/events/broadcast",
                headers={"Authorization": f"Bearer {self.admin_token}"},
                json={"title": "Bench broadcast", "body": "hello"},
            )
            answered = time.time() - started
        arrivals: list[float] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(arrivals) < expected:
            arrivals += (await self.load.call(cmd="drain"))["arrivals"]
            await asyncio.sleep(0.5)
        offsets = sorted(a - started for a in arrivals)
        if not offsets:
            print(f"  POST answered in {answered:.2f} s; no stream received it")
            return
        recipients = response.json().get("recipients")
        print(
            f"  POST answered in {answered:.2f} s ({recipients} notifications, {recipients / answered:.0f}/s);"
            f" {len(offsets)}/{expected} streams got it; first after {offsets[0] * 1000:.0f} ms,"
            f" median {pct(offsets, 50):.2f} s, last {offsets[-1]:.2f} s",
            flush=True,
        )
        self.results["broadcast"] = {
            "seconds": answered,
            "received": len(offsets),
            "per_second": recipients / answered,
        }

    async def run(self) -> None:
        args = self.args
        total = args.streams
        n = min(args.latency_streams, total)
        print(
            f"live events benchmark: backend={args.backend}, up to {total} streams, fd limit {raise_fd_limit()}"
        )
        print(
            f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True
        )
        naive_kib = float("nan") if args.skip_naive else await self.naive_memory()

        server_a, url_a = await self.start_server("a")
        # Warm up (pools, caches, code paths) with users that are not measured.
        spare = self.users[total + 2 * args.stalled :]
        await self.load.call(cmd="open", url=url_a, tokens=tokens_for(spare[:40]))
        await publish_series(url_a, spare, 20, 0.005)
        await self.load.call(cmd="close")
        before = await settle_rss(server_a.pid)
        opened = await self.load.call(cmd="open", url=url_a, tokens=self.tokens[:n])
        at_n = await settle_rss(server_a.pid)
        kib_n = (at_n - before) / max(1, opened["opened"])
        failed = f" ({opened['failed']} failed: {opened['first_failure']})" if opened["failed"] else ""
        print(
            f"\naiclone ({args.backend}): {opened['opened']} streams in {opened['seconds']:.1f} s{failed},"
            f" RSS {before / 1024:.0f} -> {at_n / 1024:.0f} MiB, {kib_n:.1f} KiB per stream",
            flush=True,
        )

        streamed = self.users[:n]
        print(f"\nper-user publish -> receive ({n} open streams, {args.publishes} publishes at 100/s):")
        quiet = await self.latency("one user at a time", url_a, streamed, url_a)

        # The same side traffic twice (16 KB events at 200/s to a few users): first to clients
        # that read, then to clients that stopped reading. The difference is the stall's effect.
        k = args.stalled
        readers, stalled_users = self.users[total : total + k], self.users[total + k : total + 2 * k]
        await self.load.call(cmd="open", url=url_a, tokens=tokens_for(readers))

        async def with_side_traffic(label: str, targets: list[uuid.UUID]) -> dict[str, float]:
            side = asyncio.create_task(
                publish_series(url_a, targets, 100_000, 0.005, pad=16_000, stamp=False)
            )
            try:
                return await self.latency(label, url_a, streamed, url_a)
            finally:
                side.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await side

        loaded = await with_side_traffic(f"same, {k} other clients fed 16 KB events", readers)
        await self.load.call(cmd="stall", url=url_a, tokens=tokens_for(stalled_users))
        await asyncio.sleep(0.5)
        stalled = await with_side_traffic(f"same, those {k} clients stalled (not reading)", stalled_users)
        await self.load.call(cmd="unstall")
        print(
            f"  stalled clients change the others' p99 by {stalled['p99'] - loaded['p99']:+.2f} ms end to end,"
            f" {stalled['after_commit_p99'] - loaded['after_commit_p99']:+.2f} ms after commit",
            flush=True,
        )

        if not args.skip_broadcast:
            await self.broadcast(url_a, n + k)

        full_kib, held = kib_n, opened["opened"]
        if total > n:
            more = await self.load.call(cmd="open", url=url_a, tokens=self.tokens[n:total])
            full = await settle_rss(server_a.pid)
            held = opened["opened"] + more["opened"]
            full_kib = (full - before) / max(1, held)
            print(
                f"\n{held} streams held by one process ({more['failed']} failed): RSS {before / 1024:.0f} ->"
                f" {full / 1024:.0f} MiB, {full_kib:.1f} KiB per stream"
                f" ({full_kib / naive_kib:.2f}x the naive baseline's {naive_kib:.1f} KiB)",
                flush=True,
            )

        cross = None
        if args.backend == "postgresql":
            _, url_b = await self.start_server("b", "--no-worker")
            print(f"\ncross-instance ({held} streams on A; {args.publishes} publishes at 100/s each way):")
            await self.latency("published through A (same instance)", url_a, streamed, url_a)
            cross = await self.latency("published through B, received on A", url_b, streamed, url_a)

        print("\nsummary against the goals (end to end = from the event's record in its transaction;")
        print("after commit = from the moment the writer's commit returned):")
        print(f"  streams held by one process: {held} (goal >= 15000)")
        print(f"  memory per stream: {full_kib:.1f} KiB (goal <= 20); naive baseline {naive_kib:.1f} KiB")
        print(
            f"  per-user p99 at {n} streams: {quiet['p99']:.2f} ms end to end,"
            f" {quiet['after_commit_p99']:.2f} ms after commit (goal <= 10)"
        )
        print(
            f"  stalled clients' effect on p99: {stalled['p99'] - loaded['p99']:+.2f} ms end to end,"
            f" {stalled['after_commit_p99'] - loaded['after_commit_p99']:+.2f} ms after commit (goal <= 5)"
        )
        if cross is not None:
            print(
                f"  cross-instance p99: {cross['p99']:.2f} ms end to end,"
                f" {cross['after_commit_p99']:.2f} ms after commit (goal <= 25)"
            )
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")


def _dsn(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def orchestrate(args: argparse.Namespace) -> None:
    raise_fd_limit()
    bench = Bench(args)
    try:
        await bench.setup()
        await bench.run()
    finally:
        await bench.teardown()


def main() -> None:
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role == "server":
        run_server(sys.argv[2:])
        return
    if role == "naive":
        run_naive(int(sys.argv[2]))
        return
    if role == "load":
        import uvloop  # noqa: PLC0415

        uvloop.run(load_main())
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--streams", type=int, default=15_000, help="streams held for the memory figure")
    parser.add_argument(
        "--latency-streams", type=int, default=10_000, help="open streams during latency runs"
    )
    parser.add_argument("--publishes", type=int, default=500, help="publishes per latency series")
    parser.add_argument("--stalled", type=int, default=10, help="stalled clients in the stall phase")
    parser.add_argument("--max-seconds", type=float, default=900, help="hard bound for the whole run")
    parser.add_argument("--skip-naive", action="store_true", help="skip the baseline's memory run")
    parser.add_argument("--skip-broadcast", action="store_true", help="skip the admin broadcast")
    args = parser.parse_args()

    def timeout(*_: object) -> None:
        raise SystemExit(f"benchmark exceeded --max-seconds={args.max_seconds:.0f}")

    signal.signal(signal.SIGALRM, timeout)
    signal.alarm(int(args.max_seconds))
    asyncio.run(orchestrate(args))


if __name__ == "__main__":
    main()
