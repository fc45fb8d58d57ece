"""Housekeeping of the live-events tables that any one process may do."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from aiclone.db import Database, utcnow
from aiclone.live.repository import TicketRepository
from aiclone.workers import sleep_or_stop

logger = logging.getLogger("aiclone.live")


class StreamTicketPruneJob:
    """Deletes stream tickets an hour after they expired (used or not)."""

    name = "stream-ticket-prune"

    def __init__(self, db: Database, *, interval_seconds: float = 600.0) -> None:
        self.db = db
        self.interval_seconds = interval_seconds

    async def prune_once(self) -> int:
        total = 0
        while True:
            async with self.db.session() as session:
                removed = await TicketRepository(session).prune(utcnow() - dt.timedelta(hours=1))
            total += removed
            if removed == 0:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await self.prune_once()
            if removed:
                logger.info("pruned %d expired stream tickets", removed)
            if await sleep_or_stop(stop, self.interval_seconds):
                return
