"""The endpoints' queries (the first stage: CRUD and secrets).

The delivery rows have a query module per stage of their pipeline: :mod:`.queue` (enqueue,
claim, leases, next wake, recovery) and :mod:`.log` (attempt rows, the log's reads, pruning).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Uuid, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import User
from aiclone.claims import locks_rows
from aiclone.driver import DriverStatement
from aiclone.errors import NotFound
from aiclone.events.models import Event
from aiclone.webhooks.models import EndpointStatus, WebhookEndpoint

MISSING_ENDPOINT = "No such webhook endpoint."


_ACTIVE_SUBSCRIPTIONS = DriverStatement(
    select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.flavour).where(
        WebhookEndpoint.user_id == bindparam("user_id", type_=Uuid()),
        WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
    )
)


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, user_id: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False
    ) -> WebhookEndpoint | None:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user_id
        )
        if lock and locks_rows(self.session):
            query = query.with_for_update(key_share=True)
        return (await self.session.scalars(query)).one_or_none()

    async def owned(self, owner: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
        """The owner's endpoint; NotFound for a missing one and for another user's alike."""
        endpoint = await self.get(owner, endpoint_id, lock=lock)
        if endpoint is None:
            raise NotFound(MISSING_ENDPOINT)
        return endpoint

    async def lock_owner(self, user_id: uuid.UUID) -> None:
        """Serialize a user's endpoint creations (the per-user cap); SQLite's write lock already does."""
        if locks_rows(self.session):
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
        # Every event of a transaction whose user has not been looked up yet runs this.
        rows = await _ACTIVE_SUBSCRIPTIONS.rows(self.session, {"user_id": user_id})
        return [Subscription(endpoint_id, list(types), flavour) for endpoint_id, types, flavour in rows]

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
        if locks_rows(self.session):
            query = query.with_for_update(key_share=True)
        return {row.id: row for row in (await self.session.scalars(query)).all()}


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint_id: uuid.UUID
    event_types: list[str]
    flavour: str


async def latest_events(session: AsyncSession, user_id: uuid.UUID, event_type: str, limit: int) -> list[Any]:
    """The user's newest events of one type, newest first (seq, type, data, created_at)."""
    query = (
        select(Event.seq, Event.type, Event.data, Event.created_at)
        .where(Event.user_id == user_id, Event.type == event_type)
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).all())
