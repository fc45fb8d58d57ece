"""SQLite write sessions of one process, queued in arrival order (see :mod:`aiclone.db`).

SQLite has one writer; without a queue, concurrent write sessions of one process busy-poll its
lock. Waiting on an in-process lock instead is first come, first served and costs no CPU while
waiting. The wait is bounded by the statement timeout, after which the write is a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiclone.db_outage import RETRY_AFTER_SECONDS
from aiclone.errors import DatabaseUnavailable

logger = logging.getLogger("aiclone.db")


class WriterQueue:
    """The SQLite write sessions of one process, one at a time, in arrival order.

    One lock per event loop (a process may run several, as the tests and the CLI do). A task
    that already holds the lock and opens another write session goes through unqueued, so the
    nesting behaves as it did without the queue (SQLite's own lock decides).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: dict[asyncio.AbstractEventLoop, tuple[asyncio.Lock, list[asyncio.Task[Any] | None]]] = {}

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        entry = self._locks.get(loop)
        if entry is None:
            for stale in [other for other in self._locks if other.is_closed()]:
                del self._locks[stale]
            entry = self._locks[loop] = (asyncio.Lock(), [None])
        lock, holder = entry
        task = asyncio.current_task()
        if holder[0] is task and task is not None:
            yield
            return
        try:
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError:
            logger.warning("an SQLite write waited %.0f s for this process's writer queue", self.timeout)
            raise DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        holder[0] = task
        try:
            yield
        finally:
            holder[0] = None
            lock.release()
