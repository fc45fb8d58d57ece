"""Peak Python memory of an account export and the time of its erasure, on a large account.

Fills a fresh SQLite database with one user owning ``--events`` events and ``--prospects``
prospects (bulk inserts), streams ``GET /api/auth/me/export``'s body through the service and
discards it, reporting the peak traced memory (tracemalloc) against the ZIP size; then erases
the account and reports the time taken. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from sqlalchemy import insert

from aiclone import migrate
from aiclone.auth.models import User
from aiclone.container import Services
from aiclone.db import utcnow
from aiclone.events.models import Event
from aiclone.prospects.models import Prospect
from aiclone.settings import Settings


async def fill(services: Services, events: int, prospects: int) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with services.db.session() as session:
        await session.execute(
            insert(User).values(id=user_id, email="big@example.com", full_name="Big", password_hash="x")
        )
    now = utcnow()
    for start in range(0, events, 10_000):
        rows = [
            {
                "user_id": user_id,
                "seq": s + 1,
                "type": "prospect_added",
                "data": {"name": f"P{s}", "n": s},
                "created_at": now,
            }
            for s in range(start, min(events, start + 10_000))
        ]
        async with services.db.session() as session:
            await session.execute(insert(Event), rows)
    for start in range(0, prospects, 10_000):
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "name": f"Prospect {p}",
                "notes": "x" * 200,
                "tags": ["a"],
            }
            for p in range(start, min(prospects, start + 10_000))
        ]
        async with services.db.session() as session:
            await session.execute(insert(Prospect), rows)
    return user_id


async def main(events: int, prospects: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="aiclone-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    services = Services(
        Settings.compose(
            {"database_url": url, "data_dir": str(folder), "secret_key": "b" * 48, "run_workers": False}
        )
    )
    try:
        user_id = await fill(services, events, prospects)
        download = await services.account_data.start_export(user_id)
        tracemalloc.start()
        size = 0
        started = time.perf_counter()
        async for chunk in download.body:
            size += len(chunk)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"export: {events} events + {prospects} prospects -> {size / 1e6:.1f} MB zip in {elapsed:.1f} s,"
            f" peak traced memory {peak / 1e6:.1f} MB"
        )
        started = time.perf_counter()
        erased = await services.account_data.erase(user_id)
        print(f"erasure: {sum(erased.rows.values())} rows in {time.perf_counter() - started:.2f} s")
    finally:
        await services.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--prospects", type=int, default=50_000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.prospects))
