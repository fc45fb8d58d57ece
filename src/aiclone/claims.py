"""The vocabulary the claiming workers share: webhook deliveries, research tasks and mail.

Each of them keeps its queue as rows in the database and goes through the same steps, named the
same way in all three:

* **claim** — a worker takes due rows in one short transaction and marks them as its own
  (``claimed_by`` = its :func:`new_worker_id`, a lease, the attempt number handed out once). On
  PostgreSQL the candidates are row-locked ``FOR UPDATE SKIP LOCKED`` (:func:`locks_rows`), so
  concurrent workers take disjoint sets; on SQLite the BEGIN IMMEDIATE write lock admits one
  claimer at a time. What a worker holds for one attempt is a ``Claim``.
* **due** — a row is due when it waits and its time has come, or when it is held under a lease
  that ran out because its worker died (:func:`due`).
* **lease** — a live worker always ends an attempt inside its lease. Writes that end an attempt
  are fenced on (status, claimed_by, attempt), so a worker whose claim was lost changes nothing.
* **next wake** — between rounds (:func:`run_rounds`) a worker sleeps until the earliest time
  something may fall due, at most its poll interval (:func:`seconds_until`), unless its
  :class:`Doorbell` rings first (a commit heard from the broker, a re-queue in this process, a
  slot freed).
* **outcome** — what one attempt led to; each domain records it (retry later, finish, fail).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.broker import EventBroker, Message, Overflow, Subscription


def new_worker_id() -> str:
    """This worker's name in ``claimed_by``: host, process and a random part (unique per start)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def locks_rows(session: AsyncSession) -> bool:
    """Whether claims lock their candidate rows (PostgreSQL); SQLite's write lock excludes the others."""
    return session.get_bind().dialect.name == "postgresql"


def due(
    status: Any,
    next_attempt_at: Any,
    lease_until: Any,
    *,
    now: dt.datetime,
    waiting: str,
    held: str,
) -> ColumnElement[bool]:
    """Rows ``waiting`` whose next attempt time has passed, or ``held`` under an expired lease."""
    return or_(
        and_(status == waiting, next_attempt_at <= now),
        and_(status == held, lease_until < now),
    )


def seconds_until(when: dt.datetime | None, *, poll: float, floor: float) -> float:
    """How long to sleep before looking again: until ``when``, but never past ``poll``."""
    if when is None:
        return poll
    return min(poll, max((when - utcnow()).total_seconds(), floor))


class Doorbell:
    """Wakes a sleeping worker early; a ring while it is busy is kept for its next sleep."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        """Until rung, stopped, or ``seconds`` passed."""
        if self._rung.is_set():
            self._rung.clear()
            return
        waiters = [asyncio.ensure_future(self._rung.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._rung.clear()


async def run_rounds(
    stop: asyncio.Event,
    bell: Doorbell,
    claim_round: Callable[[], Awaitable[float | None]],
    *,
    spacing: float = 0.0,
) -> None:
    """Claim rounds until ``stop``: a round returns None when more may be due at once, otherwise
    how long to sleep (a ring cuts the sleep short). Rounds start at least ``spacing`` apart."""
    last = float("-inf")
    while not stop.is_set():
        since_last = time.monotonic() - last
        if since_last < spacing:
            await asyncio.sleep(spacing - since_last)
        last = time.monotonic()
        pause = await claim_round()
        if pause is not None:
            await bell.wait(stop, pause)


async def listen(broker: EventBroker, handle: Callable[[Message], None]) -> None:
    """Hand every message the broker carries (every user's) to ``handle``, until cancelled.

    A subscription that fell behind ends with an :class:`Overflow` (messages were lost): it is
    replaced, and ``handle`` still gets the marker, so it can look at the table instead.
    """
    subscription: Subscription | None = None
    try:
        while True:
            if subscription is None:
                subscription = broker.subscribe(None)
            message = await subscription.get()
            if isinstance(message, Overflow):
                subscription.close()
                subscription = None
            handle(message)
    finally:
        if subscription is not None:
            subscription.close()
