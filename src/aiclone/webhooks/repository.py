from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import User
from aiclone.events.models import Event
from aiclone.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
_deliveries = cast(Table, WebhookDelivery.__table__)
_endpoints = cast(Table, WebhookEndpoint.__table__)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, user_id: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False
    ) -> WebhookEndpoint | None:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user_id
        )
        if lock and _is_postgres(self.session):
            query = query.with_for_update(key_share=True)
        return (await self.session.scalars(query)).one_or_none()

    async def lock_owner(self, user_id: uuid.UUID) -> None:
        """Serialize a user's endpoint creations (the per-user cap); SQLite's write lock already does."""
        if _is_postgres(self.session):
            await self.session.execute(
                select(User.id).where(User.id == user_id).with_for_update(key_share=True)
            )

    async def count(self, user_id: uuid.UUID) -> int:
        query = select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id)
        return int(await self.session.scalar(query) or 0)

    async def add(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def page(
        self, user_id: uuid.UUID, *, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
    ) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id)
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(
                    WebhookEndpoint.created_at > created,
                    and_(WebhookEndpoint.created_at == created, WebhookEndpoint.id > last_id),
                )
            )
        query = query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def active_subscriptions(self, user_id: uuid.UUID) -> list[Subscription]:
        rows = await self.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.flavour).where(
                WebhookEndpoint.user_id == user_id, WebhookEndpoint.status == EndpointStatus.ACTIVE.value
            )
        )
        return [Subscription(row.id, list(row.event_types), row.flavour) for row in rows]

    async def active_subscriptions_of(
        self, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Subscription]]:
        """:meth:`active_subscriptions` of many users in one query (users without any are absent)."""
        rows = await self.session.execute(
            select(
                WebhookEndpoint.user_id,
                WebhookEndpoint.id,
                WebhookEndpoint.event_types,
                WebhookEndpoint.flavour,
            ).where(
                WebhookEndpoint.user_id.in_(list(user_ids)),
                WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
            )
        )
        found: dict[uuid.UUID, list[Subscription]] = {}
        for row in rows:
            found.setdefault(row.user_id, []).append(Subscription(row.id, list(row.event_types), row.flavour))
        return found

    async def lock_many(self, endpoint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WebhookEndpoint]:
        """Load endpoints for a health update, row-locked on PostgreSQL in id order.

        ``FOR NO KEY UPDATE`` (not ``FOR UPDATE``): event transactions inserting deliveries hold
        ``KEY SHARE`` locks on these rows through the foreign key, and must never wait on a worker
        (nor deadlock with one).
        """
        query = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(sorted(set(endpoint_ids))))
            .order_by(WebhookEndpoint.id)
        )
        if _is_postgres(self.session):
            query = query.with_for_update(key_share=True)
        return {row.id: row for row in (await self.session.scalars(query)).all()}


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint_id: uuid.UUID
    event_types: list[str]
    flavour: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a worker needs to send one claimed delivery."""

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


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_for_event(
        self,
        targets: list[tuple[uuid.UUID, str]],
        *,
        user_id: uuid.UUID,
        event_type: str,
        event_seq: int,
        now: dt.datetime,
    ) -> None:
        """One pending delivery per (endpoint, frozen body)."""
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
                    "status": DeliveryStatus.PENDING.value,
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

    async def get(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        query = select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def attempts(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
        return list((await self.session.scalars(query)).all())

    async def page(
        self,
        endpoint_id: uuid.UUID,
        *,
        limit: int,
        status: str | None,
        event_type: str | None,
        after: tuple[dt.datetime, uuid.UUID] | None,
    ) -> list[WebhookDelivery]:
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        if event_type is not None:
            query = query.where(WebhookDelivery.event_type == event_type)
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(
                    WebhookDelivery.created_at < created,
                    and_(WebhookDelivery.created_at == created, WebhookDelivery.id < last_id),
                )
            )
        query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

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
    ) -> tuple[list[Claimed], bool]:
        """Claim up to ``limit`` due deliveries of active endpoints for this worker.

        Due means pending with ``next_attempt_at`` passed, or sending with an expired lease (its
        worker died). Candidates are row-locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
        concurrent workers take disjoint sets; on SQLite the whole transaction holds the write
        lock (BEGIN IMMEDIATE). At most ``room[endpoint]`` (or ``default_room``) are taken per
        endpoint; the rest stay due for the next round. Claiming bumps ``attempts``: the attempt
        number is handed out here, once. Returns the claims and whether the candidate window was
        full (more may be due).
        """
        # Plain table statements: this runs many times a second under load.
        d, e = _deliveries.c, _endpoints.c
        due = or_(
            and_(d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now),
            and_(d.status == DeliveryStatus.SENDING.value, d.lease_until < now),
        )
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
            .where(due, e.status == EndpointStatus.ACTIVE.value)
            .where(or_(d.manual_until.is_(None), d.manual_until < now))
            .order_by(d.next_attempt_at, d.created_at)
            .limit(limit)
        )
        if skip_endpoints:
            query = query.where(d.endpoint_id.not_in(list(skip_endpoints)))
        if _is_postgres(self.session):
            query = query.with_for_update(of=_deliveries, skip_locked=True)
        candidates = (await self.session.execute(query)).all()
        full_window = len(candidates) == limit
        chosen: dict[uuid.UUID, Any] = {}
        taken: dict[uuid.UUID, int] = {}
        interrupted: list[dict[str, Any]] = []
        for row in candidates:
            used = taken.get(row.endpoint_id, 0)
            if used >= room.get(row.endpoint_id, default_room):
                continue
            taken[row.endpoint_id] = used + 1
            chosen[row.id] = row
            if row.status == DeliveryStatus.SENDING.value:
                # Its worker stopped mid-attempt: log that attempt as interrupted, then go again.
                interrupted.append(
                    {
                        "delivery_id": row.id,
                        "number": row.attempts,
                        "trigger": "scheduled",
                        "started_at": row.lease_until - lease_length,
                        "duration_ms": 0,
                        "error_class": "interrupted",
                        "error": "the worker sending this attempt stopped before its outcome was known",
                    }
                )
        if not chosen:
            return [], full_window
        await self.add_attempts(interrupted)
        # The rows are locked (or the SQLite write lock is held): attempts + 1 is the number handed out.
        payloads = {
            row.id: row.payload
            for row in await self.session.execute(
                update(_deliveries)
                .where(d.id.in_(list(chosen)))
                .values(
                    status=DeliveryStatus.SENDING.value,
                    claimed_by=worker,
                    lease_until=lease_until,
                    attempts=d.attempts + 1,
                )
                .returning(d.id, d.payload)
            )
        }
        return [
            Claimed(
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
            for row in chosen.values()
        ], full_window

    async def next_wake(self, *, now: dt.datetime, skip_endpoints: Sequence[uuid.UUID]) -> dt.datetime | None:
        """The earliest time something may become claimable: a retry falling due, or a lease expiring."""
        d, e = WebhookDelivery, WebhookEndpoint
        active = e.status == EndpointStatus.ACTIVE.value
        pending = (
            select(func.min(d.next_attempt_at))
            .join(e, e.id == d.endpoint_id)
            .where(d.status == DeliveryStatus.PENDING.value, active)
            .where(or_(d.manual_until.is_(None), d.manual_until < now))
        )
        if skip_endpoints:
            pending = pending.where(d.endpoint_id.not_in(list(skip_endpoints)))
        leases = (
            select(func.min(d.lease_until))
            .join(e, e.id == d.endpoint_id)
            .where(d.status == DeliveryStatus.SENDING.value, active)
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
            d.status == DeliveryStatus.SENDING.value,
            d.claimed_by == worker,
        )
        if _is_postgres(self.session):
            query = query.with_for_update(key_share=True)
        rows = {row.id: row.attempts for row in await self.session.execute(query.order_by(d.id))}
        return {delivery_id: attempt for delivery_id, attempt in claims if rows.get(delivery_id) == attempt}

    async def finish_claims(self, changes: list[dict[str, Any]]) -> None:
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
                d.status != DeliveryStatus.SENDING.value,
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

    async def add_attempts(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookAttempt), rows)

    async def stop_pending(self, endpoint_id: uuid.UUID, *, reason: str, now: dt.datetime) -> int:
        """Fail the endpoint's waiting deliveries (it was disabled); in-flight ones finish on their own.

        Returns how many non-test deliveries were stopped (test sends are not counted anywhere).
        """
        d = WebhookDelivery
        waiting = or_(
            d.status == DeliveryStatus.PENDING.value,
            and_(d.status == DeliveryStatus.SENDING.value, d.lease_until < now),
        )
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
            *self._failed_between(endpoint_id, since, until), d.is_test.is_(False), d.finished_at.is_not(None)
        )
        return [finished for (finished,) in await self.session.execute(query) if finished is not None]

    @staticmethod
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
            .where(*self._failed_between(endpoint_id, since, until))
            .values(
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=d.created_at,
                retries_used=0,
                finished_at=None,
                claimed_by=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def prune_finished(self, cutoff: dt.datetime, *, batch: int = 2000) -> int:
        d = WebhookDelivery
        ids = (
            select(d.id)
            .where(d.created_at < cutoff, d.status.not_in(_OPEN))
            .order_by(d.created_at)
            .limit(batch)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(d).where(d.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]


async def latest_events(session: AsyncSession, user_id: uuid.UUID, event_type: str, limit: int) -> list[Any]:
    """The user's newest events of one type, newest first (seq, type, data, created_at)."""
    query = (
        select(Event.seq, Event.type, Event.data, Event.created_at)
        .where(Event.user_id == user_id, Event.type == event_type)
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).all())
