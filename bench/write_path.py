"""Benchmark: what one create costs inside the process, statement by statement.

Builds the real services (``aiclone.container.Services``) on a throwaway PostgreSQL database and
on a SQLite file, creates prospects one at a time through ``ProspectService.create`` (what
``POST /api/prospects`` calls), and records every statement the driver runs
(``before/after_cursor_execute``; on PostgreSQL asyncpg's query log, since statements on
``aiclone.driver`` bypass SQLAlchemy's events): how many per create, what each is, and the time from the
statement's dispatch to its result. It also gives the CPU of a create in the process (no HTTP),
against the same rows written on a raw connection in the same process (bench/prospects_list.py
has the raw transaction). With ``--profile`` it samples the run with py-spy and sorts the
samples by who holds the CPU (SQLAlchemy, the driver, our own code, the event loop…).

    PYTHONPATH=src:. .venv/bin/python bench/write_path.py [--creates 400] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
# --tree OTHER measures another checkout's code (e.g. `git worktree add /tmp/before main`) with
# this script, so before and after come from the same run on the same machine.
TREE = Path(sys.argv[sys.argv.index("--tree") + 1]) if "--tree" in sys.argv else ROOT
sys.path[:0] = [str(TREE / "src"), str(ROOT), str(ROOT / "bench")]

from aiclone import migrate  # noqa: E402
from aiclone.container import Services  # noqa: E402
from aiclone.prospects.schemas import ProspectCreate  # noqa: E402
from aiclone.settings import load_settings  # noqa: E402
from prospects_list import (  # noqa: E402
    create_pg_database,
    drop_pg_database,
    dsn,
    raw_pg_create,
    seed_users,
)

# Who a sampled stack belongs to: the innermost frame from one of these wins (a socket write
# under asyncpg counts as asyncpg's).
OWNERS = (
    ("asyncpg", "driver (asyncpg)"),
    ("aiosqlite", "driver (aiosqlite)"),
    ("sqlite3", "driver (aiosqlite)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("msgspec", "msgspec"),
    ("aiclone", "aiclone"),
    ("litestar", "Litestar"),
)


def label(statement: str) -> str:
    text = " ".join(statement.split())
    match = re.match(
        r"(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|SELECT pg_notify|WITH \w+|SELECT .*? FROM \w+)", text
    )
    head = match.group(1) if match else text[:40]
    if "ON CONFLICT" in text:
        head += " … ON CONFLICT"
    return head[:90]


class StatementLog:
    def __init__(self, engine: Any) -> None:
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.active = False
        if engine.dialect.name == "postgresql":
            # Statements on the driver (aiclone.driver) bypass SQLAlchemy's cursor events: on
            # PostgreSQL every statement is taken from asyncpg's own query log instead.
            @event.listens_for(engine.sync_engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.driver_connection.add_query_logger(self._on_query)

            return

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _before(_conn: Any, _cursor: Any, _statement: str, _p: Any, context: Any, _many: bool) -> None:
            context._bench_started = time.perf_counter()

        @event.listens_for(engine.sync_engine, "after_cursor_execute")
        def _after(_conn: Any, _cursor: Any, statement: str, _p: Any, context: Any, _many: bool) -> None:
            if self.active:
                self.times[label(statement)].append(time.perf_counter() - context._bench_started)

    def _on_query(self, record: Any) -> None:
        name = label(record.query)
        if self.active and name.split()[0].rstrip(";") not in (
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT",
            "RELEASE",
        ):
            self.times[name].append(record.elapsed)


def print_statements(log: StatementLog, creates: int) -> None:
    total = sum(len(v) for v in log.times.values())
    print(f"  {total / creates:.1f} statements per create (BEGIN/COMMIT not counted)")
    for name, values in sorted(log.times.items(), key=lambda kv: -sum(kv[1])):
        print(f"    {len(values) / creates:4.1f} x  {1e6 * sum(values) / len(values):7.0f} us  {name}")


async def run_creates(services: Services, log: StatementLog, user_id: uuid.UUID, creates: int) -> float:
    """CPU seconds of the process per create (one create at a time, so nothing overlaps)."""
    for i in range(20):  # warm caches (compiled statements, pool)
        await services.prospects.create(
            user_id, ProspectCreate(name=f"Warm {i}", email=f"w{i}-{uuid.uuid4().hex}@x.example")
        )
    log.active = True
    cpu = time.process_time()
    for i in range(creates):
        await services.prospects.create(
            user_id,
            ProspectCreate(name=f"Bench {i}", email=f"{uuid.uuid4().hex}@bench.example", tags=["bench"]),
        )
    cpu = (time.process_time() - cpu) / creates
    log.active = False
    return cpu


def profile(seconds: float, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(os.getpid()), "--duration", str(int(seconds)), "--rate", "250",
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def print_profile(path: Path) -> None:
    owners: collections.Counter[str] = collections.Counter()
    callers: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        owner = "event loop and stdlib, outside any of these"
        for frame in reversed(frames):
            hit = next(
                (name for key, name in OWNERS if f"({key}/" in frame or f"/{key}/" in frame),
                None,
            )
            if hit:
                owner = hit
                break
        owners[owner] += n
        ours = [frame.split(" (")[0] for frame in frames if "(aiclone/" in frame or "/aiclone/" in frame]
        callers[ours[-1] if ours else "(outside aiclone)"] += n
    print(f"  py-spy: {total} samples, by the innermost library frame")
    for owner, n in owners.most_common():
        print(f"    {100 * n / total:5.1f}%  {owner}")
    print("  by the innermost aiclone function on the stack (where SQLAlchemy and driver time is spent)")
    for caller, n in callers.most_common(12):
        print(f"    {100 * n / total:5.1f}%  {caller}")


async def measure(name: str, url: str, args: argparse.Namespace, tmp: str) -> None:
    users = await seed_users(url)
    user_id = users[0][0]
    # From variables, so the same script builds an older checkout's settings too (--tree).
    environ = {
        "AICLONE_DATABASE_URL": url,
        "AICLONE_SECRET_KEY": secrets.token_urlsafe(48),
        "AICLONE_DATA_DIR": tmp,
    }
    settings = load_settings(environ, dotenv=None)
    services = Services(settings)
    await services.start(run_workers=False)
    log = StatementLog(services.db.engine)
    try:
        print(f"\n{name}: {args.creates} creates through ProspectService.create, one at a time")
        spy = profile(max(3, args.creates / 100), Path(tmp) / f"{name}.txt") if args.profile else None
        cpu = await run_creates(services, log, user_id, args.creates)
        print(f"  process CPU per create: {1e6 * cpu:.0f} us")
        print_statements(log, args.creates)
        if spy is not None:
            spy.wait(timeout=60)
            print_profile(Path(tmp) / f"{name}.txt")
        if name == "PostgreSQL":
            conn = await asyncpg.connect(dsn(url))
            try:
                for i in range(20):
                    await raw_pg_create(conn, i, user_id)
                cpu = time.process_time()
                for i in range(args.creates):
                    await raw_pg_create(conn, i, user_id)
                raw_cpu = 1e6 * (time.process_time() - cpu) / args.creates
                print(f"  raw asyncpg, the same rows: {raw_cpu:.0f} us CPU per create")
            finally:
                await conn.close()
    finally:
        await services.stop()


async def main_async(args: argparse.Namespace) -> None:
    tmp = tempfile.mkdtemp(prefix="aiclone-write-path-")
    pg_url = await create_pg_database()
    try:
        await asyncio.to_thread(migrate.upgrade, pg_url)
        await measure("PostgreSQL", pg_url, args, tmp)
    finally:
        await drop_pg_database(pg_url)
    sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, sqlite_url)
    await measure("SQLite", sqlite_url, args, tmp)
    print(f"\nCode measured: {TREE / 'src'}")
    print(f"Load average of the machine at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=400)
    parser.add_argument("--profile", action="store_true", help="sample the creates with py-spy")
    parser.add_argument("--tree", help="measure the aiclone code of another checkout")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
