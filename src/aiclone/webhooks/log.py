"""The delivery log: one attempt row per attempt, the owner's reads, and pruning.

Every attempt is logged, scheduled or manual, including the ones a worker never finished: when a
lease expires the next claim logs the lost attempt as ``interrupted`` (:func:`interrupted_attempt`)
before going again. Attempt rows are built here only (:func:`attempt_row`). Finished deliveries,
with their attempts by cascade, are deleted after ``AICLONE_WEBHOOK_DELIVERY_RETENTION_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.pagination import newest_first
from aiclone.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, message_id
from aiclone.webhooks.schemas import AttemptRead, DeliveryDetail, DeliveryRead
from aiclone.webhooks.sender import Outcome

_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
INTERRUPTED = "the worker sending this attempt stopped before its outcome was known"


def attempt_row(
    delivery_id: uuid.UUID, number: int, trigger: Literal["scheduled", "manual"], outcome: Outcome
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "number": number,
        "trigger": trigger,
        "started_at": outcome.started_at,
        "duration_ms": outcome.duration_ms,
        "status_code": outcome.status_code,
        "error_class": outcome.error_class,
        "error": outcome.error,
        "response_body": outcome.response_body,
        "remote_address": outcome.remote_address,
    }


def interrupted_attempt(delivery_id: uuid.UUID, number: int, *, started_at: dt.datetime) -> dict[str, Any]:
    """The attempt a worker stopped in the middle of (its lease expired before an outcome)."""
    outcome = Outcome(started_at, 0, error_class="interrupted", error=INTERRUPTED)
    return attempt_row(delivery_id, number, "scheduled", outcome)


class DeliveryLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_attempts(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookAttempt), rows)

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
        query = newest_first(query, WebhookDelivery.created_at, WebhookDelivery.id, after=after, limit=limit)
        return list((await self.session.scalars(query)).all())

    async def prune_finished(self, cutoff: dt.datetime, *, batch: int = 2000) -> int:
        """Delete up to ``batch`` finished deliveries created before ``cutoff``; returns how many."""
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


def delivery_read(row: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        webhook_id=message_id(row.id),
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        event_seq=row.event_seq,
        test=row.is_test,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def delivery_detail(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryDetail:
    return DeliveryDetail(
        **msgspec.structs.asdict(delivery_read(row)),
        payload=msgspec.json.decode(row.payload),
        attempt_log=[msgspec.convert(a, AttemptRead, from_attributes=True) for a in attempts],
    )
