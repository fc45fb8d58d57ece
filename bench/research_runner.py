"""Research runner throughput against a plain fetch loop, on SQLite and PostgreSQL.

Runs N one-URL tasks (a small local page) through the real runner (claim, web engine, result and
events in one transaction each) and, in the same run, fetches and parses the same N pages with
the web engine alone at the same concurrency. Prints tasks/s for both and their ratio: the cost
of the queue, the leases and the events per task.

    PYTHONPATH=src:. python bench/research_runner.py [--tasks 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database, make_settings
from tests.support.localweb import local_site

from aiclone import migrate
from aiclone.container import Services
from aiclone.research.engines.base import EngineRegistry, ResearchJob
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.research.models import ResearchTask, SourceType
from aiclone.research.queue import ResearchQueue
from aiclone.research.runner import ResearchRunner, RunnerConfig
from aiclone.research.schemas import ResearchTaskCreate

PAGE = (
    "<html><head><title>Bench {i}</title><meta name='description' content='A page.'></head><body>"
    + ("<h2>Section</h2><p>Warehouse automation for retailers. Contact sales@example.org.</p>" * 20)
    + "</body></html>"
)


async def no_progress(_percent: int, _message: str) -> None:
    return None


async def plain_loop(engine: WebEngine, urls: list[str], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> None:
        async with gate:
            job = ResearchJob(uuid.uuid4(), uuid.uuid4(), "b", url, SourceType.URLS)
            await engine.research(job, no_progress)

    start = time.perf_counter()
    await asyncio.gather(*(one(url) for url in urls))
    return time.perf_counter() - start


async def through_runner(database_url: str, data_dir: Path, urls: list[str], concurrency: int) -> float:
    services = Services(make_settings(database_url, data_dir))
    await services.broker.start()
    try:
        user = await services.auth.register(
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            password="a long enough passphrase 42",
            full_name="B",
        )
        for url in urls:
            await services.research.create(
                user.id, ResearchTaskCreate(title="b", input_source=url, source_type=SourceType.URLS)
            )
        engine = WebEngine(WebEngineConfig(allow_private=True))
        runner = ResearchRunner(
            ResearchQueue(services.db, services.events, services.token_counters),
            services.broker,
            EngineRegistry([engine]),
            RunnerConfig(concurrency=concurrency, poll_seconds=0.2),
        )
        stop = asyncio.Event()
        start = time.perf_counter()
        job = asyncio.create_task(runner.run(stop))
        while True:
            async with services.db.read_session() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(ResearchTask)
                    .where(ResearchTask.status.in_(["queued", "running"]))
                )
            if not left:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - start
        stop.set()
        await job
        return elapsed
    finally:
        await services.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with local_site() as site, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.tasks):
            site.page(f"/p/{i}", PAGE.format(i=i))
        urls = [site.url(f"/p/{i}") for i in range(args.tasks)]
        engine = WebEngine(WebEngineConfig(allow_private=True))
        baseline = await plain_loop(engine, urls, args.concurrency)
        print(f"plain fetch+parse loop: {args.tasks / baseline:8.1f} pages/s")
        targets = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        try:
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)
            await conn.close()
            targets["postgresql"] = await create_pg_database(PG_ADMIN_URL)
        except OSError:
            print("postgresql unreachable; skipped")
        try:
            for name, url in targets.items():
                await asyncio.to_thread(migrate.upgrade, url)
                elapsed = await through_runner(url, Path(tmp), urls, args.concurrency)
                rate = args.tasks / elapsed
                ratio = rate / (args.tasks / baseline)
                extra_ms = 1000 * (elapsed - baseline) / args.tasks
                print(
                    f"runner on {name:10}: {rate:8.1f} tasks/s  ({ratio:.0%} of the plain loop, {extra_ms:.1f} ms/task)"
                )
        finally:
            if "postgresql" in targets:
                await drop_pg_database(PG_ADMIN_URL, targets["postgresql"])


if __name__ == "__main__":
    asyncio.run(main())
