"""Background jobs run beside the HTTP app (``aiclone serve``) or alone (``aiclone worker``).

A job is any object with a ``name`` and ``async run(stop)``; the group supervises it: a job that
crashes is logged and restarted after a pause, and ``stop`` asks every job to finish, waiting a
bounded time before cancelling.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database, utcnow
from aiclone.events.log import prune_before

logger = logging.getLogger("aiclone.workers")


class BackgroundJob(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


class WorkerGroup:
    def __init__(self, jobs: list[BackgroundJob], *, restart_delay: float = 1.0) -> None:
        self.jobs = jobs
        self.restart_delay = restart_delay
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._supervise(job), name=f"job:{job.name}") for job in self.jobs]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        self._stop.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _supervise(self, job: BackgroundJob) -> None:
        while not self._stop.is_set():
            try:
                await job.run(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background job %s crashed; restarting", job.name)
            if self._stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.restart_delay)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True if asked to stop meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


class RetentionJob:
    """Deletes rows older than ``max_age``, every ``interval_seconds``: the one shape of every
    retention job (events, webhook deliveries, stream tickets).

    Each batch is its own short transaction (a subclass's :meth:`prune_batch` deletes a bounded
    number of rows and says how many), so writers of the same table never wait long; a round
    ends at the first empty batch.
    """

    name: str
    # What is deleted, for the log line ("events", "finished webhook deliveries"…).
    what: str
    # Seconds between rounds unless the constructor is given another interval.
    every: float

    def __init__(self, db: Database, *, max_age: dt.timedelta, interval_seconds: float | None = None) -> None:
        self.db = db
        self.max_age = max_age
        self.interval_seconds = self.every if interval_seconds is None else interval_seconds

    async def prune_batch(self, session: AsyncSession, cutoff: dt.datetime) -> int:
        raise NotImplementedError

    async def prune_once(self) -> int:
        cutoff = utcnow() - self.max_age
        total = 0
        while True:
            async with self.db.session() as session:
                removed = await self.prune_batch(session, cutoff)
            total += removed
            if removed == 0:
                break
        if total:
            logger.info("pruned %d %s older than %s", total, self.what, cutoff.isoformat())
        return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.prune_once()
            if await sleep_or_stop(stop, self.interval_seconds):
                return


class EventRetentionJob(RetentionJob):
    """Deletes events older than the retention age (``AICLONE_EVENT_RETENTION_DAYS``)."""

    name = "event-retention"
    what = "events"
    every = 300.0

    async def prune_batch(self, session: AsyncSession, cutoff: dt.datetime) -> int:
        return await prune_before(session, cutoff)
