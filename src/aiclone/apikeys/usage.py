"""``last_used_at`` / ``last_used_ip`` of API keys, written at most once a minute per key.

A key may be used hundreds of times a second; writing its row each time would turn every read
into a write. Each process remembers when it last wrote each key and writes again only after
:data:`INTERVAL_SECONDS`, from a background task, so the request never waits for it. With several
instances each writes at most once a minute per key; the row says when the key was last seen
within about a minute, which is what a user revoking stale keys needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from sqlalchemy import update

from aiclone.apikeys.models import ApiKey
from aiclone.db import Database, utcnow

logger = logging.getLogger("aiclone.apikeys.usage")

INTERVAL_SECONDS = 60.0
# Keys remembered per process; past this the memory starts over (at worst one extra write each).
_CAPACITY = 100_000
_ADDRESS_MAX_LENGTH = 64


class KeyUsage:
    def __init__(self, db: Database, *, interval: float = INTERVAL_SECONDS) -> None:
        self.db = db
        self.interval = interval
        self._written: dict[uuid.UUID, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.writes = 0  # rows written, for tests and benchmarks

    def note(self, key_id: uuid.UUID, address: str) -> None:
        now = time.monotonic()
        last = self._written.get(key_id)
        if last is not None and now - last < self.interval:
            return
        if len(self._written) >= _CAPACITY:
            self._written.clear()
        self._written[key_id] = now
        task = asyncio.get_running_loop().create_task(self._write(key_id, address[:_ADDRESS_MAX_LENGTH]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, key_id: uuid.UUID, address: str) -> None:
        try:
            async with self.db.session() as session:
                await session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key_id)
                    .values(last_used_at=utcnow(), last_used_ip=address)
                )
            self.writes += 1
        except Exception:  # noqa: BLE001 - best effort: the next use a minute later writes again
            logger.warning("could not record the use of an API key")

    async def stop(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
