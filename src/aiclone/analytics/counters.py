"""Keeping the counters: the in-transaction event hook and :func:`bump`.

Both write in the caller's transaction, so a counter moves if and only if the change that moved
it commits. Each occurrence is one multi-row upsert (one row per grain); concurrent writers of
one user already serialise on the user's event sequence row, so the counter rows add no new lock
order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.analytics.metrics import (
    GRAINS,
    REASON_APPROVED,
    REASON_MEETING_BOOKED,
    FunnelMetric,
    Metric,
    metric_for,
)
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.analytics.periods import bucket_starts
from aiclone.events.types import EventRecord, EventType

_KNOWN = frozenset(m.value for m in (*Metric, *FunnelMetric))


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


_BUMPS: dict[str, Any] = {}


def _bump_statement(session: AsyncSession) -> Any:
    """One multi-row upsert (a row per grain), built once per dialect and reused with parameters."""
    dialect = session.get_bind().dialect.name
    statement = _BUMPS.get(dialect)
    if statement is None:
        table = AnalyticsCounter.__table__
        rows = [
            {
                "user_id": bindparam("user_id"),
                "grain": grain,
                "bucket_start": bindparam(f"start_{grain}"),
                "metric": bindparam("metric"),
                "count": bindparam("by"),
            }
            for grain in GRAINS
        ]
        upsert = _insert(session)(table).values(rows)
        statement = _BUMPS[dialect] = upsert.on_conflict_do_update(
            index_elements=["user_id", "grain", "bucket_start", "metric"],
            set_={"count": table.c.count + upsert.excluded.count},
        )
    return statement


async def bump(
    session: AsyncSession, *, user_id: uuid.UUID, metric: Metric | FunnelMetric, at: dt.datetime, by: int = 1
) -> None:
    """Add ``by`` to ``metric`` of ``user_id`` at instant ``at``, in the caller's transaction.

    The webhook worker calls this with ``Metric.WEBHOOK_DELIVERIES_SUCCEEDED`` when a delivery
    succeeds and ``Metric.WEBHOOK_DELIVERIES_FAILED`` when it is finally given up, in the
    transaction that settles the delivery.
    """
    if str(metric) not in _KNOWN:
        raise ValueError(f"unknown metric {metric!r}")
    if at.tzinfo is None:
        raise ValueError("bump() needs an aware datetime")
    params: dict[str, Any] = {"user_id": user_id, "metric": str(metric), "by": by}
    for grain, start in bucket_starts(at):
        params[f"start_{grain}"] = start
    await session.execute(_bump_statement(session), params)


def _prospect_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return None


class AnalyticsCounterHook:
    """Moves the counters (and the prospect funnel) that an event concerns."""

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        metric = metric_for(event)
        if metric is not None:
            await bump(session, user_id=event.user_id, metric=metric, at=event.created_at)
        data = event.data
        if event.type == EventType.PROSPECT_ADDED:
            await self._prospect_added(session, event)
        elif event.type == EventType.PROSPECT_UPDATED:
            reason = data.get("reason")
            if reason == REASON_APPROVED:
                await self._reach(session, event, _prospect_id(data.get("id")), FunnelMetric.APPROVED)
            elif reason == REASON_MEETING_BOOKED:
                await self._reach(session, event, _prospect_id(data.get("id")), FunnelMetric.MEETING_BOOKED)
        elif event.type == EventType.OUTREACH_SENT:
            await self._reach(session, event, _prospect_id(data.get("prospect_id")), FunnelMetric.CONTACTED)

    async def _prospect_added(self, session: AsyncSession, event: EventRecord) -> None:
        prospect_id = _prospect_id(event.data.get("id"))
        if prospect_id is None:
            return
        approved = event.data.get("approval_status") == REASON_APPROVED
        statement = (
            _insert(session)(ProspectFunnelEntry)
            .values(
                user_id=event.user_id,
                prospect_id=prospect_id,
                added_at=event.created_at,
                approved_at=event.created_at if approved else None,
            )
            .on_conflict_do_nothing(index_elements=["user_id", "prospect_id"])
            .returning(ProspectFunnelEntry.prospect_id)
        )
        inserted = (await session.execute(statement)).first() is not None
        if inserted and approved:
            await bump(session, user_id=event.user_id, metric=FunnelMetric.APPROVED, at=event.created_at)

    async def _reach(
        self, session: AsyncSession, event: EventRecord, prospect_id: str | None, stage: FunnelMetric
    ) -> None:
        if prospect_id is None:
            return
        column = _STAGE_COLUMN[stage]
        statement = (
            update(ProspectFunnelEntry)
            .where(
                ProspectFunnelEntry.user_id == event.user_id,
                ProspectFunnelEntry.prospect_id == prospect_id,
                column.is_(None),
            )
            .values({column: event.created_at})
            .returning(ProspectFunnelEntry.added_at)
            .execution_options(synchronize_session=False)
        )
        added_at = (await session.execute(statement)).scalar_one_or_none()
        if added_at is not None:
            # Counted in the bucket of the prospect's addition: the funnel is by cohort.
            await bump(session, user_id=event.user_id, metric=stage, at=added_at)


_STAGE_COLUMN = {
    FunnelMetric.APPROVED: ProspectFunnelEntry.approved_at,
    FunnelMetric.CONTACTED: ProspectFunnelEntry.contacted_at,
    FunnelMetric.MEETING_BOOKED: ProspectFunnelEntry.meeting_booked_at,
}
