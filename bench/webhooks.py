"""Webhook delivery benchmark: one ``aiclone worker`` process against a local receiver (50 ms).

Phases, all bounded, on a throwaway PostgreSQL database:

1. ceiling   - a plain httpx loop posts the same signed payloads straight to the receiver with
               several small clients (5 x 20 and 10 x 10 in flight; the better one is the ceiling).
2. drain     - N deliveries are committed while no worker runs; then one worker starts and the
               time from its first to its last receipt gives deliveries/s (and its CPU per delivery).
   idle      - single events into the idle worker: commit-to-receipt (the wake-on-notify path).
3. steady    - events committed at a fixed rate while the worker runs: achieved deliveries/s and
               commit-to-receipt p50/p99.
4. hanging   - the same steady load on healthy endpoints, first alone, then with two endpoints that
               never answer also subscribed: the healthy endpoints' p95 with and without them.

Run: ``PYTHONPATH=src:. python bench/webhooks.py`` (options: --drain N, --rate R, --seconds S).
The receiver runs in its own process (uvicorn), as does the worker; this process produces events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "AICLONE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
SECRET_KEY = "bench-secret-key-" + "b" * 40
RECEIVER_DELAY = 0.05
PAD = "x" * 200
EVENT_TYPE = "task_update"  # not an activity-feed event: one event, one delivery per endpoint

# --- the receiver (its own process) --------------------------------------------------------------


def run_receiver(port: int) -> None:
    import uvicorn  # noqa: PLC0415 - only the receiver process needs it

    receipts: list[tuple[str, str, int, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if scope["method"] == "GET":
            body = json.dumps(receipts).encode()
            receipts.clear()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        at = time.time()
        if path.startswith("/hang"):
            await asyncio.sleep(3600)
        headers = dict(scope["headers"])
        try:
            bench_id = int(json.loads(b"".join(chunks))["data"]["bench"])
        except (ValueError, KeyError, TypeError):
            bench_id = -1
        receipts.append((path, headers.get(b"webhook-id", b"").decode(), bench_id, at))
        await asyncio.sleep(RECEIVER_DELAY)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=30,
    )


# --- helpers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database() -> str:
    name = f"aiclone_bench_wh_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn(PG_ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(dsn(PG_ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


def worker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}",
        "AICLONE_ENV": "development",
        "AICLONE_DATABASE_URL": database_url,
        "AICLONE_DATA_DIR": str(data_dir),
        "AICLONE_SECRET_KEY": SECRET_KEY,
        "AICLONE_AUTO_MIGRATE": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
        "AICLONE_WEBHOOK_ALLOW_PRIVATE": "true",
    }


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, env: dict[str, str]) -> Worker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiclone", "worker"], env=env, cwd=ROOT, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if b"running" not in line:
            raise RuntimeError(f"worker did not start: {line!r}")
        return cls(proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Bench:
    def __init__(self, database_url: str, receiver_port: int, data_dir: Path) -> None:
        from aiclone.container import Services  # noqa: PLC0415 - after sys.path is set
        from aiclone.settings import Settings  # noqa: PLC0415

        self.services = Services(
            Settings.compose(
                {
                    "env": "development",
                    "database_url": database_url,
                    "data_dir": str(data_dir),
                    "secret_key": SECRET_KEY,
                    "webhook_allow_private": True,
                    "auto_migrate": False,
                    "argon2_time_cost": 2,
                    "argon2_memory_kib": 19 * 1024,
                    "argon2_parallelism": 1,
                }
            )
        )
        self.port = receiver_port
        self.users: list[uuid.UUID] = []
        self.commit_times: dict[int, float] = {}
        self.next_id = 0

    async def setup_users(self, count: int) -> None:
        from aiclone.webhooks.schemas import WebhookCreate  # noqa: PLC0415

        for i in range(count):
            user = await self.services.auth.register(
                email=f"bench{i}-{uuid.uuid4().hex[:6]}@example.com",
                password="a long enough passphrase 42",
                full_name="B",
            )
            self.users.append(user.id)
            await self.services.webhooks.create(
                user.id, WebhookCreate(url=f"http://127.0.0.1:{self.port}/ok/{i}", event_types=[EVENT_TYPE])
            )

    async def add_hanging(self, count: int) -> None:
        from aiclone.webhooks.schemas import WebhookCreate  # noqa: PLC0415

        for i in range(count):
            await self.services.webhooks.create(
                self.users[i],
                WebhookCreate(url=f"http://127.0.0.1:{self.port}/hang/{i}", event_types=[EVENT_TYPE]),
            )

    async def commit(self, count: int) -> None:
        """One transaction of ``count`` events spread over the users (one delivery each per endpoint)."""
        ids = []
        async with self.services.db.session() as session:
            for _ in range(count):
                bench_id = self.next_id
                self.next_id += 1
                ids.append(bench_id)
                await self.services.events.record(
                    session,
                    user_id=self.users[bench_id % len(self.users)],
                    type=EVENT_TYPE,
                    data={"bench": bench_id, "pad": PAD},
                )
        now = time.time()
        for bench_id in ids:
            self.commit_times[bench_id] = now

    async def produce(self, rate: float, seconds: float, tick: float = 0.02) -> int:
        """Commit ``rate`` events/s for ``seconds``, in one transaction per tick; returns how many."""
        start = time.monotonic()
        done = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(rate * elapsed) - done
            if due > 0:
                await self.commit(due)
                done += due
            await asyncio.sleep(tick)
        return done

    async def receipts(self) -> list[tuple[str, str, int, float]]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{self.port}/stats")
        return [tuple(r) for r in response.json()]  # type: ignore[misc]

    async def wait_received(self, expected: int, timeout: float) -> list[tuple[str, str, int, float]]:
        got: list[tuple[str, str, int, float]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got += await self.receipts()
            if len({r[1] for r in got if r[0].startswith("/ok")}) >= expected:
                break
            await asyncio.sleep(0.2)
        return got


# --- phases --------------------------------------------------------------------------------------


async def plain_loop(port: int, count: int, clients: int = 5, per_client: int = 20) -> dict[str, float]:
    from aiclone.webhooks.signing import WebhookSecret, signature_header  # noqa: PLC0415

    key = WebhookSecret.generate().key
    bodies = [
        json.dumps(
            {"type": EVENT_TYPE, "timestamp": "2026-01-01T00:00:00Z", "data": {"bench": i, "pad": PAD}},
            separators=(",", ":"),
        ).encode()
        for i in range(count)
    ]
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    pool = [
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        )
        for _ in range(clients)
    ]

    async def post(client: httpx.AsyncClient) -> None:
        # Each task sends one request at a time: per_client tasks share each client.
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            msg_id = f"msg_{uuid.uuid4().hex}"
            ts = int(time.time())
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(ts),
                "webhook-signature": signature_header([key], msg_id, ts, bodies[i]),
                "content-type": "application/json",
            }
            started = time.perf_counter()
            response = await client.post(f"http://127.0.0.1:{port}/plain", content=bodies[i], headers=headers)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    start = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(post(pool[c]) for c in range(clients) for _ in range(per_client)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    for client in pool:
        await client.aclose()
    return {
        "rate": count / elapsed,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "cpu_ms": cpu * 1000 / count,
    }


def latencies_of(bench: Bench, receipts: list[tuple[str, str, int, float]]) -> list[float]:
    times = bench.commit_times
    return [at - times[i] for path, _, i, at in receipts if path.startswith("/ok") and i in times]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def rate_of(receipts: list[tuple[str, str, int, float]]) -> float:
    times = sorted(at for path, _, _, at in receipts if path.startswith("/ok"))
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


async def main(args: argparse.Namespace) -> None:
    from aiclone import migrate  # noqa: PLC0415

    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)], cwd=ROOT)
    database_url = await create_database()
    data_dir = Path(f"/tmp/aiclone-bench-webhooks-{uuid.uuid4().hex[:8]}")
    worker: Worker | None = None
    bench: Bench | None = None
    try:
        await asyncio.to_thread(migrate.upgrade, database_url)
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient() as client:
                    await client.get(f"http://127.0.0.1:{port}/stats")
                break
            await asyncio.sleep(0.1)
        bench = Bench(database_url, port, data_dir)
        await bench.setup_users(args.endpoints)
        env = worker_env(database_url, data_dir)

        load = os.getloadavg()[0]
        print(
            f"webhooks bench: {args.endpoints} endpoints, receiver answers in {RECEIVER_DELAY * 1000:.0f} ms,"
            f" {os.cpu_count()} CPUs, load average {load:.1f} at start"
        )
        shapes = []
        for clients, per_client in ((5, 20), (10, 10)):
            shape = await plain_loop(port, args.drain, clients, per_client)
            await bench.receipts()
            shapes.append(shape)
            print(
                f"  plain httpx loop ({clients} clients x {per_client} in flight): {shape['rate']:6.0f} req/s"
                f"   p50 {shape['p50'] * 1000:4.0f} ms  p99 {shape['p99'] * 1000:5.0f} ms"
                f"   CPU {shape['cpu_ms']:.2f} ms/request"
            )
        # The ceiling is the better of the two shapes.
        ceiling = max(shapes, key=lambda shape: shape["rate"])

        # Drain: a backlog committed before the worker starts.
        for _ in range(args.drain // 100):
            await bench.commit(100)
        worker = Worker.start(env)
        cpu_before = process_cpu(worker.proc.pid)
        got = await bench.wait_received(args.drain, timeout=120)
        worker_cpu_ms = (process_cpu(worker.proc.pid) - cpu_before) * 1000 / args.drain
        drain_rate = rate_of(got)
        print(
            f"  one worker draining {args.drain} deliveries:      {drain_rate:6.0f} deliveries/s"
            f" = {drain_rate / ceiling['rate']:.0%} of the best plain loop;"
            f" CPU {worker_cpu_ms:.2f} ms/delivery (claim + sign + send + record)"
        )

        # Idle pickup: single events into an idle worker (woken by the commit's notification).
        bench.commit_times.clear()
        for _ in range(20):
            await bench.commit(1)
            await asyncio.sleep(0.3)
        idle = latencies_of(bench, await bench.wait_received(20, timeout=30))
        print(
            f"  idle pickup, 20 single events:   commit->receipt p50 {pct(idle, 50) * 1000:4.0f} ms"
            f"  max {max(idle, default=float('nan')) * 1000:4.0f} ms"
        )

        # Steady: a fixed offered rate.
        bench.commit_times.clear()
        cpu_before = process_cpu(worker.proc.pid)
        own_cpu = time.process_time()
        produced = await bench.produce(args.rate, args.seconds)
        got = await bench.wait_received(produced, timeout=60)
        steady_cpu_ms = (process_cpu(worker.proc.pid) - cpu_before) * 1000 / max(produced, 1)
        producer_cpu_ms = (time.process_time() - own_cpu) * 1000 / max(produced, 1)
        steady = latencies_of(bench, got)
        achieved = rate_of(got)
        print(
            f"  steady load, {args.rate:.0f}/s offered ({produced / args.seconds:.0f}/s committed):"
            f" {achieved:6.0f} deliveries/s   commit->receipt p50 {pct(steady, 50) * 1000:4.0f} ms"
            f"  p95 {pct(steady, 95) * 1000:4.0f} ms  p99 {pct(steady, 99) * 1000:5.0f} ms"
        )
        print(
            f"    CPU per delivery: worker {steady_cpu_ms:.2f} ms; the producer (this process, committing the"
            f" events) {producer_cpu_ms:.2f} ms"
        )

        # Hanging endpoints: the same healthy load, alone and beside endpoints that never answer.
        bench.commit_times.clear()
        produced = await bench.produce(args.hang_rate, args.seconds)
        base = latencies_of(bench, await bench.wait_received(produced, timeout=60))
        await bench.add_hanging(2)
        bench.commit_times.clear()
        produced = await bench.produce(args.hang_rate, args.seconds)
        hung = latencies_of(bench, await bench.wait_received(produced, timeout=60))
        delta = pct(hung, 95) - pct(base, 95)
        print(
            f"  healthy endpoints' p95 at {args.hang_rate:.0f}/s: alone {pct(base, 95) * 1000:4.0f} ms,"
            f" beside 2 endpoints that never answer {pct(hung, 95) * 1000:4.0f} ms ({delta * 1000:+.0f} ms)"
        )
        print(f"  load average at end {os.getloadavg()[0]:.1f}")
        cpu_ratio = ceiling["cpu_ms"] / worker_cpu_ms
        print("  goals:")
        print(f"    >= 250 deliveries/s from one worker:  {verdict(drain_rate >= 250)} ({drain_rate:.0f}/s)")
        print(
            f"    >= 50% of the plain loop:             {verdict(drain_rate >= 0.5 * ceiling['rate'])}"
            f" ({drain_rate / ceiling['rate']:.0%} by wall clock, {cpu_ratio:.0%} by CPU per delivery)"
        )
        print(
            f"    p99 commit->receipt <= 1 s:           {verdict(pct(steady, 99) <= 1.0)}"
            f" ({pct(steady, 99) * 1000:.0f} ms)"
        )
        print(f"    a hanging endpoint adds < 1 s to p95: {verdict(delta < 1.0)} ({delta * 1000:+.0f} ms)")
        print(
            f"    idle pickup <= 250 ms:                {verdict(max(idle, default=9.0) <= 0.25)}"
            f" (max {max(idle, default=float('nan')) * 1000:.0f} ms)"
        )
    finally:
        if worker is not None:
            worker.stop()
        if bench is not None:
            await bench.services.stop()
        receiver.kill()  # it holds the hanging requests open; nothing to shut down gracefully
        receiver.wait(timeout=10)
        await drop_database(database_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoints", type=int, default=8)
    parser.add_argument("--drain", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--hang-rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parsed = parser.parse_args()
    if parsed.receiver:
        run_receiver(parsed.receiver)
    else:
        sys.path.insert(0, str(ROOT / "src"))
        asyncio.run(main(parsed))
