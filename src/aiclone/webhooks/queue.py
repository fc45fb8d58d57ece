"""The delivery queue: enqueue, claim, leases, next wake, and putting deliveries back.

The webhook side of :mod:`aiclone.claims` (the vocabulary all three workers share): a delivery is
due when ``pending`` with ``next_attempt_at`` passed, or ``sending`` under an expired lease (its
worker died). Claiming marks it ``sending`` under the worker's name with a lease and hands out
the attempt number (``attempts`` + 1), once. A manual send (test, retry now) holds a delivery
with ``manual_until`` instead, and workers leave it alone until then.

Every method runs in the caller's transaction. The worker's statements (claim, next wake, held,
finish) are plain table statements: they run many times a second under load.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.claims import due, locks_rows
from aiclone.webhooks.log import DeliveryLog, interrupted_attempt
from aiclone.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint

_deliveries = cast(Table, WebhookDelivery.__table__)
_endpoints = cast(Table, WebhookEndpoint.__table__)
_PENDING, _SENDING = DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker holds for one attempt, with what it needs to send it."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    payload: str
    attempt: int
    retries_used: int
    url: str
    secret_sealed: str
    previous_secret_sealed: str | None
    previous_secret_expires_at: dt.datetime | None
    flavour: str = "standard"


def _not_held_by_hand(now: dt.datetime) -> ColumnElement[bool]:
    d = _deliveries.c
    return or_(d.manual_until.is_(None), d.manual_until < now)


class DeliveryQueue:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self,
        targets: list[tuple[uuid.UUID, str]],
        *,
        user_id: uuid.UUID,
        event_type: str,
        event_seq: int,
        now: dt.datetime,
    ) -> None:
        """One pending delivery per (endpoint, frozen body), due at once."""
        await self.session.execute(
            insert(WebhookDelivery),
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint_id,
                    "user_id": user_id,
                    "event_type": event_type,
                    "event_seq": event_seq,
                    "is_test": False,
                    "payload": payload,
                    "status": _PENDING,
                    "attempts": 0,
                    "retries_used": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for endpoint_id, payload in targets
            ],
        )

    async def add(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.session.add(delivery)
        await self.session.flush()
        return delivery

    # --- the workers' side -------------------------------------------------------------------

    async def claim(
        self,
        *,
        worker: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int,
        skip_endpoints: Sequence[uuid.UUID],
        room: dict[uuid.UUID, int],
        default_room: int,
        lease_length: dt.timedelta,
    ) -> tuple[list[Claim], bool]:
        """Claim up to ``limit`` due deliveries of active endpoints for this worker.

        Candidates are row-locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
        whole transaction holds the write lock (BEGIN IMMEDIATE). At most ``room[endpoint]`` (or
        ``default_room``) are taken per endpoint; the rest stay due for the next round. A
        delivery whose lease expired had its attempt interrupted: that attempt is logged as such
        before it goes again. Returns the claims and whether the candidate window was full (more
        may be due).
        """
        candidates = (await self.session.execute(self._candidates(now, limit, skip_endpoints))).all()
        full_window = len(candidates) == limit
        chosen = _within_room(candidates, room, default_room)
        if not chosen:
            return [], full_window
        await DeliveryLog(self.session).add_attempts(
            [
                interrupted_attempt(row.id, row.attempts, started_at=row.lease_until - lease_length)
                for row in chosen
                if row.status == _SENDING
            ]
        )
        payloads = await self._take([row.id for row in chosen], worker, lease_until)
        return [
            Claim(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                payload=payloads[row.id],
                attempt=row.attempts + 1,
                retries_used=row.retries_used,
                url=row.url,
                secret_sealed=row.secret_sealed,
                previous_secret_sealed=row.previous_secret_sealed,
                previous_secret_expires_at=row.previous_secret_expires_at,
                flavour=row.flavour,
            )
            for row in chosen
        ], full_window

    def _candidates(self, now: dt.datetime, limit: int, skip_endpoints: Sequence[uuid.UUID]) -> Select[Any]:
        d, e = _deliveries.c, _endpoints.c
        query = (
            select(
                d.id,
                d.endpoint_id,
                d.status,
                d.attempts,
                d.retries_used,
                d.lease_until,
                e.url,
                e.secret_sealed,
                e.previous_secret_sealed,
                e.previous_secret_expires_at,
                e.flavour,
            )
            .select_from(_deliveries.join(_endpoints, e.id == d.endpoint_id))
            .where(
                due(d.status, d.next_attempt_at, d.lease_until, now=now, waiting=_PENDING, held=_SENDING),
                e.status == EndpointStatus.ACTIVE.value,
                _not_held_by_hand(now),
            )
            .order_by(d.next_attempt_at, d.created_at)
            .limit(limit)
        )
        if skip_endpoints:
            query = query.where(d.endpoint_id.not_in(list(skip_endpoints)))
        if locks_rows(self.session):
            query = query.with_for_update(of=_deliveries, skip_locked=True)
        return query

    async def _take(
        self, delivery_ids: list[uuid.UUID], worker: str, lease_until: dt.datetime
    ) -> dict[uuid.UUID, str]:
        """Mark the chosen rows as this worker's; returns their payloads.

        The rows are locked (or the SQLite write lock is held): attempts + 1 is the number handed out.
        """
        d = _deliveries.c
        rows = await self.session.execute(
            update(_deliveries)
            .where(d.id.in_(delivery_ids))
            .values(status=_SENDING, claimed_by=worker, lease_until=lease_until, attempts=d.attempts + 1)
            .returning(d.id, d.payload)
        )
        return {row.id: row.payload for row in rows}

    async def next_wake(self, *, now: dt.datetime, skip_endpoints: Sequence[uuid.UUID]) -> dt.datetime | None:
        """The earliest time something may become claimable: a retry falling due, or a lease expiring."""
        d, e = WebhookDelivery, WebhookEndpoint
        active = e.status == EndpointStatus.ACTIVE.value
        pending = (
            select(func.min(d.next_attempt_at))
            .join(e, e.id == d.endpoint_id)
            .where(d.status == _PENDING, active, _not_held_by_hand(now))
        )
        if skip_endpoints:
            pending = pending.where(d.endpoint_id.not_in(list(skip_endpoints)))
        leases = (
            select(func.min(d.lease_until)).join(e, e.id == d.endpoint_id).where(d.status == _SENDING, active)
        )
        row = (await self.session.execute(select(pending.scalar_subquery(), leases.scalar_subquery()))).one()
        times = [t for t in row if t is not None]
        if not times:
            return None
        # SQLite returns min() of a datetime column as text.
        parsed = [t if isinstance(t, dt.datetime) else dt.datetime.fromisoformat(str(t)) for t in times]
        return min(p if p.tzinfo else p.replace(tzinfo=dt.UTC) for p in parsed)

    async def held(self, claims: Sequence[tuple[uuid.UUID, int]], worker: str) -> dict[uuid.UUID, int]:
        """Of these (delivery, attempt) claims, the ones this worker still holds, row-locked.

        A claim is held while the delivery is ``sending`` under this worker's name with the same
        attempt number; a lease that expired and was taken again (even by this same worker) no
        longer matches. Returns delivery id -> attempt number.
        """
        d = _deliveries.c
        query = select(d.id, d.attempts).where(
            d.id.in_({delivery_id for delivery_id, _ in claims}),
            d.status == _SENDING,
            d.claimed_by == worker,
        )
        if locks_rows(self.session):
            query = query.with_for_update(key_share=True)
        rows = {row.id: row.attempts for row in await self.session.execute(query.order_by(d.id))}
        return {delivery_id: attempt for delivery_id, attempt in claims if rows.get(delivery_id) == attempt}

    async def finish(self, changes: list[dict[str, Any]]) -> None:
        """Write the outcome of held claims (one executemany); each dict carries ``b_id`` and the values."""
        if not changes:
            return
        statement = (
            update(_deliveries)
            .where(_deliveries.c.id == bindparam("b_id"))
            .values(
                status=bindparam("status"),
                retries_used=bindparam("retries_used"),
                next_attempt_at=bindparam("next_attempt_at"),
                finished_at=bindparam("finished_at"),
                last_attempt_at=bindparam("last_attempt_at"),
                last_status_code=bindparam("last_status_code"),
                last_error=bindparam("last_error"),
                claimed_by=None,
                lease_until=None,
            )
        )
        await self.session.execute(statement, changes)

    # --- manual sends, stopping and recovery -------------------------------------------------

    async def lock_manual(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, *, now: dt.datetime, until: dt.datetime
    ) -> WebhookDelivery | None:
        """Take a delivery for a manual send unless a worker or another manual send holds it."""
        d = WebhookDelivery
        result = await self.session.execute(
            update(d)
            .where(
                d.id == delivery_id,
                d.endpoint_id == endpoint_id,
                d.status != _SENDING,
                or_(d.manual_until.is_(None), d.manual_until < now),
            )
            .values(manual_until=until, attempts=d.attempts + 1)
            .returning(d.id)
            .execution_options(synchronize_session=False)
        )
        if result.first() is None:
            return None
        query = select(d).where(d.id == delivery_id).execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one()

    async def stop_pending(self, endpoint_id: uuid.UUID, *, reason: str, now: dt.datetime) -> int:
        """Fail the endpoint's waiting deliveries (it was disabled); in-flight ones finish on their own.

        Returns how many non-test deliveries were stopped (test sends are not counted anywhere).
        """
        d = WebhookDelivery
        waiting = or_(d.status == _PENDING, and_(d.status == _SENDING, d.lease_until < now))
        result = await self.session.execute(
            update(d)
            .where(d.endpoint_id == endpoint_id, waiting)
            .values(
                status=DeliveryStatus.FAILED.value,
                next_attempt_at=None,
                last_error=reason[:500],
                finished_at=now,
                claimed_by=None,
                lease_until=None,
            )
            .returning(d.is_test)
            .execution_options(synchronize_session=False)
        )
        return sum(1 for (is_test,) in result if not is_test)

    async def failed_finish_times(
        self, endpoint_id: uuid.UUID, *, since: dt.datetime, until: dt.datetime | None
    ) -> list[dt.datetime]:
        """When each non-test failed delivery that :meth:`requeue_failed` would requeue had failed."""
        d = WebhookDelivery
        query = select(d.finished_at).where(
            *_failed_between(endpoint_id, since, until), d.is_test.is_(False), d.finished_at.is_not(None)
        )
        return [finished for (finished,) in await self.session.execute(query) if finished is not None]

    async def requeue_failed(
        self, endpoint_id: uuid.UUID, *, since: dt.datetime, until: dt.datetime | None
    ) -> int:
        """Make failed deliveries pending again with a fresh schedule, oldest first.

        Their next attempt time is set to their creation time: due at once, and claimed in the
        order the events happened.
        """
        d = WebhookDelivery
        result = await self.session.execute(
            update(d)
            .where(*_failed_between(endpoint_id, since, until))
            .values(
                status=_PENDING,
                next_attempt_at=d.created_at,
                retries_used=0,
                finished_at=None,
                claimed_by=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _within_room(
    candidates: Sequence[Row[Any]], room: dict[uuid.UUID, int], default_room: int
) -> list[Row[Any]]:
    """The candidates that fit each endpoint's free room, in claim order."""
    taken: dict[uuid.UUID, int] = {}
    chosen: list[Row[Any]] = []
    for row in candidates:
        used = taken.get(row.endpoint_id, 0)
        if used < room.get(row.endpoint_id, default_room):
            taken[row.endpoint_id] = used + 1
            chosen.append(row)
    return chosen


def _failed_between(
    endpoint_id: uuid.UUID, since: dt.datetime, until: dt.datetime | None
) -> list[ColumnElement[bool]]:
    d = WebhookDelivery
    conditions = [
        d.endpoint_id == endpoint_id,
        d.status == DeliveryStatus.FAILED.value,
        d.created_at >= since,
    ]
    if until is not None:
        conditions.append(d.created_at < until)
    return conditions
