"""The per-process singletons: database, event backbone, domain services, background jobs.

Built from settings by the app factory and by the CLI (``aiclone worker``, admin commands), so
HTTP handlers, workers and commands share one way of wiring the product.
"""

from __future__ import annotations

import datetime as dt

from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.service import AuthService
from aiclone.auth.tokens import TokenCodec
from aiclone.content.service import ContentService
from aiclone.db import Database
from aiclone.events.broker import EventBroker, MemoryBroker, PostgresBroker
from aiclone.events.log import EventLog
from aiclone.outreach.service import OutreachService
from aiclone.prospects.service import ProspectService
from aiclone.settings import Settings
from aiclone.workers import BackgroundJob, EventRetentionJob, WorkerGroup


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
        self.broker: EventBroker = (
            MemoryBroker(queue_size=settings.event_queue_size)
            if self.db.is_sqlite
            else PostgresBroker(self.db.engine, self.db.url, queue_size=settings.event_queue_size)
        )
        self.events = EventLog(self.broker, max_payload_bytes=settings.max_event_payload_bytes)
        self.codec = TokenCodec(settings)
        self.hasher = PasswordHasher(settings)
        self.auth = AuthService(self.db, settings, self.hasher, self.codec)
        self.prospects = ProspectService(self.db, self.events)
        self.outreach = OutreachService(self.db, self.events)
        self.content = ContentService(self.db, self.events)
        self.jobs: list[BackgroundJob] = [
            EventRetentionJob(self.db, max_age=dt.timedelta(days=settings.event_retention_days)),
        ]
        self.workers = WorkerGroup(self.jobs)

    async def start(self, *, run_workers: bool) -> None:
        await self.broker.start()
        if run_workers:
            await self.workers.start()

    async def stop(self) -> None:
        await self.workers.stop()
        await self.broker.stop()
        await self.db.dispose()
