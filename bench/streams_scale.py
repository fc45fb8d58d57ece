"""Admin broadcast to every user and the longest GC pause while thousands of streams are open.

    python bench/streams_scale.py                                # PostgreSQL and SQLite
    python bench/streams_scale.py --backend sqlite --users 5000 --streams 1000
    python bench/streams_scale.py --baseline /tmp/before         # also an older tree, same run

For each source tree (this one, and with ``--baseline`` another checkout) and each database:
a fresh database migrated by that tree, ``--users`` users (bulk insert, minted tokens), the real
server (``aiclone serve`` plus the benchmark routes of sse_servers.py: a publish route and the
collector's pauses, measured in the server with ``gc.callbacks``), then:

1. ``--streams`` open event streams (lean client, sse_load.py);
2. 300 single events at 100/s to streamed users;
3. ``POST /api/events/broadcast`` to every active user: time to the answer, streams that
   received it, and the checks that make the figure valid — every user has exactly one new
   ``notification`` event, each user's seqs are gapless (count = max seq = counter), and a user
   with no open stream gets it on resume with ``Last-Event-ID: 0``.

The longest collector pause is reported per phase and overall (the process's whole life after
start-up is covered). Figures are printed with the load average; compare within one run.
Goals: broadcast to 15,000 users <= 2 s; longest GC pause with 3,000 streams <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sse import SECRET, Load, ServerProcess, create_users, free_port, publish_series
from sse_servers import raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BROADCAST_GOAL_S = 2.0
GC_GOAL_MS = 50.0
TOKEN_TTL = 6 * 3600


def _dsn(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_signed_in_users(database_url: str, count: int) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Users (sse.py's bulk insert), each with one open session whose id is the user's id."""
    return await create_users(database_url, count)


def tokens_for(user_ids: list[uuid.UUID], *, role: str = "user") -> list[str]:
    """Access tokens of the sessions made by :func:`create_signed_in_users`."""
    from aiclone.auth.tokens import TokenCodec  # noqa: PLC0415
    from aiclone.settings import Settings  # noqa: PLC0415

    codec = TokenCodec(Settings.compose({"secret_key": SECRET, "access_token_ttl_seconds": TOKEN_TTL}).auth)
    return [
        codec.issue(user_id=u, session_id=u, email=f"bench-{u.hex}@example.com", role=role).token
        for u in user_ids
    ]


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def gc_since(client: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await client.get("/_bench/gc")).json()
    return result


async def resume_gets_it(url: str, token: str) -> bool:
    """A user without an open stream resumes from 0 and finds the notification in the replay."""
    import httpx  # noqa: PLC0415

    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": "0"}
    async with (
        httpx.AsyncClient(base_url=url, timeout=15) as client,
        client.stream("GET", "/api/events", headers=headers) as response,
    ):
        if response.status_code != 200:
            return False
        seen = b""
        async for chunk in response.aiter_bytes():
            seen += chunk
            if b"event: notification" in seen:
                return True
            if len(seen) > 1_000_000:
                return False
    return False


async def check_rows(database_url: str, users: int) -> dict[str, Any]:
    """Every user got exactly one notification event, and every user's seqs are gapless."""
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            notified = (
                await conn.execute(
                    text("SELECT count(DISTINCT user_id), count(*) FROM events WHERE type = 'notification'")
                )
            ).one()
            gaps = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT e.user_id, count(*) AS n, max(e.seq) AS top,"
                        " min(c.last_seq) AS last FROM events e JOIN event_counters c"
                        " ON c.user_id = e.user_id GROUP BY e.user_id) AS per_user"
                        " WHERE n <> top OR top <> last"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return {
        "notified_users": int(notified[0]),
        "notification_events": int(notified[1]),
        "users_with_gaps": int(gaps),
        "ok": int(notified[0]) == users and int(notified[1]) == users and int(gaps) == 0,
    }


class Run:
    def __init__(self, args: argparse.Namespace, tree: Path, backend: str, work: Path) -> None:
        self.args = args
        self.tree = tree
        self.backend = backend
        self.work = work
        self.admin_url = os.environ.get("AICLONE_BENCH_POSTGRES_URL", PG_DEFAULT)
        self.pg_database: str | None = None
        self.database_url = ""

    async def database(self) -> None:
        if self.backend == "postgresql":
            import asyncpg  # noqa: PLC0415
            from sqlalchemy.engine import make_url  # noqa: PLC0415

            self.pg_database = f"aiclone_bench_scale_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(_dsn(self.admin_url))
            await conn.execute(f'CREATE DATABASE "{self.pg_database}"')
            await conn.close()
            url = make_url(self.admin_url).set(database=self.pg_database)
            self.database_url = url.render_as_string(hide_password=False)
        else:
            self.database_url = f"sqlite+aiosqlite:///{self.work / 'bench.db'}"
        # The tree's own migrations (an older tree may be at another revision).
        subprocess.run(
            [sys.executable, "-c", f"from aiclone import migrate; migrate.upgrade({self.database_url!r})"],
            env={**self.base_env()},
            cwd=self.tree,
            check=True,
            timeout=300,
        )

    def base_env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")},
            "PYTHONPATH": f"{self.tree / 'src'}:{BENCH_DIR}",
        }

    async def drop(self) -> None:
        if self.pg_database is not None:
            import asyncpg  # noqa: PLC0415

            conn = await asyncpg.connect(_dsn(self.admin_url))
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
            await conn.close()

    async def measure(self, load: Load) -> dict[str, Any]:
        import httpx  # noqa: PLC0415

        args = self.args
        await self.database()
        users, admin = await create_signed_in_users(self.database_url, args.users)
        env = {
            **self.base_env(),
            "AICLONE_ENV": "test",
            "AICLONE_DATABASE_URL": self.database_url,
            "AICLONE_DATA_DIR": str(self.work),
            "AICLONE_SECRET_KEY": SECRET,
            "AICLONE_AUTO_MIGRATE": "false",
            "AICLONE_LOG_LEVEL": "WARNING",
            "AICLONE_RATE_LIMIT_ENABLED": "false",
            "AICLONE_ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL),
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = ServerProcess(
            [sys.executable, str(BENCH_DIR / "sse.py"), "server", "--port", str(port), "--no-migrate"],
            env,
            self.work / f"server-{self.backend}.log",
        )
        result: dict[str, Any] = {"tree": str(self.tree), "backend": self.backend, "users": args.users + 1}
        try:
            await server.start(f"{url}/health/ready")
            async with httpx.AsyncClient(base_url=url, timeout=600) as client:
                result["gc_startup"] = await gc_since(client)
                streamed = users[: args.streams]
                opened = await load.call(cmd="open", url=url, tokens=tokens_for(streamed), timeout=600)
                result["opened"] = opened["opened"]
                result["gc_open"] = await gc_since(client)
                await publish_series(url, streamed, 300, 0.01)
                result["gc_publish"] = await gc_since(client)
                await load.call(cmd="drain")
                cpu_before = process_cpu(server.pid)
                started = time.time()
                response = await client.post(
                    "/api/events/broadcast",
                    headers={"Authorization": f"Bearer {tokens_for([admin], role='admin')[0]}"},
                    json={"title": "Bench broadcast", "body": "hello"},
                )
                result["broadcast_s"] = time.time() - started
                if response.status_code != 200:
                    raise RuntimeError(f"broadcast answered {response.status_code}: {response.text[:500]}")
                result["recipients"] = response.json()["recipients"]
                arrivals: list[float] = []
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and len(arrivals) < len(streamed):
                    arrivals += (await load.call(cmd="drain"))["arrivals"]
                    await asyncio.sleep(0.2)
                # The server's own CPU seconds (every thread) until the last stream got it: on a
                # loaded machine a steadier figure than the wall clock, which also counts waits.
                result["server_cpu_s"] = process_cpu(server.pid) - cpu_before
                result["received"] = len(arrivals)
                result["last_arrival_s"] = max(arrivals) - started if arrivals else None
                result["gc_broadcast"] = await gc_since(client)
                result["resume_ok"] = await resume_gets_it(url, tokens_for([users[-1]])[0])
                # Objects a full collection walks now (the frozen start-up heap is not among them).
                tracked = await client.get("/_bench/gc", params={"objects": "true"})
                if tracked.status_code != 200:
                    raise RuntimeError(f"/_bench/gc answered {tracked.status_code}: {tracked.text[:300]}")
                result["tracked"] = tracked.json()["tracked"]
                result["top_types"] = tracked.json()["top_types"]
            await load.call(cmd="close")
        finally:
            server.stop()
        result["rows"] = await check_rows(self.database_url, args.users + 1)
        return result


def show(result: dict[str, Any]) -> None:
    phases = ("gc_open", "gc_publish", "gc_broadcast")
    pauses = {p: result[p]["max_ms"] for p in phases}
    gen2 = sum(result[p]["gen2"] for p in phases)
    print(
        f"\n{result['tree']} ({result['backend']}), load average {os.getloadavg()[0]:.1f}:\n"
        f"  {result['opened']} streams open; broadcast to {result['recipients']} users answered in"
        f" {result['broadcast_s']:.2f} s ({result['recipients'] / result['broadcast_s']:.0f}/s),"
        f" {result['received']}/{result['opened']} streams got it"
        + (f" (last after {result['last_arrival_s']:.2f} s)" if result["last_arrival_s"] else "")
        + f"\n  server CPU from the request to the last stream: {result['server_cpu_s']:.2f} s;"
        f" collector during the broadcast: {result['gc_broadcast']['gen2']} full collections,"
        f" {result['gc_broadcast']['total_ms']:.0f} ms in all collections"
        f" (CPU {result['gc_broadcast'].get('total_cpu_ms', 0.0):.0f} ms)"
        + f"\n  rows: {result['rows']}; offline user's resume from 0 got it: {result['resume_ok']}"
        f"\n  longest GC pause: opening {pauses['gc_open']:.1f} ms, publishing {pauses['gc_publish']:.1f} ms,"
        f" broadcast {pauses['gc_broadcast']:.1f} ms ({gen2} full collections; at start-up"
        f" {result['gc_startup']['max_ms']:.1f} ms); the same in CPU time: "
        + ", ".join(f"{result[p]['max_cpu_ms']:.1f}" for p in phases)
        + f" ms; {result['tracked']} objects tracked, {result['gc_broadcast']['frozen']} frozen"
        + "\n  most tracked types: "
        + ", ".join(f"{name} {count}" for name, count in result["top_types"]),
        flush=True,
    )


async def orchestrate(args: argparse.Namespace) -> int:
    raise_fd_limit()
    trees = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(
        f"streams_scale: {args.users + 1} users, {args.streams} streams, {os.cpu_count()} cores,"
        f" load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    load = Load()
    await load.start()
    results: list[dict[str, Any]] = []
    try:
        for backend in backends:
            for tree in trees:
                work = Path(tempfile.mkdtemp(prefix="aiclone-bench-scale-"))
                run = Run(args, tree, backend, work)
                try:
                    results.append(await run.measure(load))
                    show(results[-1])
                finally:
                    await run.drop()
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        with contextlib.suppress(Exception):
            await load.call(cmd="close", timeout=30)
        await load.stop()
    print("\nsummary:")
    valid = True
    for r in results:
        pause = max(r[p]["max_ms"] for p in ("gc_open", "gc_publish", "gc_broadcast"))
        cpu = max(r[p]["max_cpu_ms"] for p in ("gc_open", "gc_publish", "gc_broadcast"))
        ok = r["rows"]["ok"] and r["resume_ok"] and r["received"] == r["opened"]
        valid = valid and ok
        print(
            f"  {r['tree']:<40} {r['backend']:<10} broadcast {r['broadcast_s']:6.2f} s"
            f" (goal <= {BROADCAST_GOAL_S:g})  longest GC pause {pause:7.1f} ms, CPU {cpu:6.1f} ms"
            f" (goal <= {GC_GOAL_MS:g})" + ("" if ok else "  INVALID: a check failed (see above)")
        )
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    return 0 if valid else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--users", type=int, default=15_000, help="users besides the admin")
    parser.add_argument("--streams", type=int, default=3_000, help="streams held open")
    parser.add_argument("--baseline", type=Path, default=None, metavar="TREE", help="also an older tree")
    return asyncio.run(orchestrate(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
