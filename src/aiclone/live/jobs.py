"""Housekeeping of the live-events tables that any one process may do."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database
from aiclone.live.repository import TicketRepository
from aiclone.workers import RetentionJob


class StreamTicketPruneJob(RetentionJob):
    """Deletes stream tickets an hour after they expired (used or not)."""

    name = "stream-ticket-prune"
    what = "expired stream tickets"
    every = 600.0

    def __init__(self, db: Database, *, interval_seconds: float | None = None) -> None:
        super().__init__(db, max_age=dt.timedelta(hours=1), interval_seconds=interval_seconds)

    async def prune_batch(self, session: AsyncSession, cutoff: dt.datetime) -> int:
        return await TicketRepository(session).prune(cutoff)
