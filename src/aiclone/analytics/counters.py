"""Keeping the counters: the in-transaction event hook, the delivery hook, :func:`bump`, and
the token counters research moves and reads (:class:`TokenUsageCounters`).

Both write in the caller's transaction, so a counter moves if and only if the change that moved
it commits. Each occurrence is one multi-row upsert (one row per grain); concurrent writers of
one user already serialise on the user's event sequence row, so the counter rows add no new lock
order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, String, Table, Uuid, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from aiclone.analytics.metrics import (
    FINEST_GRAIN,
    GRAINS,
    REASON_APPROVED,
    REASON_MEETING_BOOKED,
    FunnelMetric,
    Metric,
    UsageMetric,
    metric_for,
)
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.analytics.periods import bucket_starts, from_epoch, to_epoch
from aiclone.driver import DriverStatement
from aiclone.events.types import EventRecord, EventType
from aiclone.shared_tables import DELIVERY_FAILED, DELIVERY_SUCCEEDED

_KNOWN = frozenset(m.value for m in (*Metric, *FunnelMetric, *UsageMetric))


_BUMP_SQL = (
    "INSERT INTO analytics_counters (user_id, grain, bucket_start, metric, count)"  # noqa: S608 - grains are our int constants
    " VALUES "
    + ", ".join(f"(:user_id, {grain}, :start_{grain}, :metric, :by)" for grain in GRAINS)
    + " ON CONFLICT (user_id, grain, bucket_start, metric)"
    " DO UPDATE SET count = analytics_counters.count + excluded.count"
)
_BUMP_PARAMETERS: tuple[BindParameter[Any], ...] = (
    bindparam("user_id", type_=Uuid()),
    bindparam("metric", type_=String()),
    bindparam("by", type_=BigInteger()),
    *(bindparam(f"start_{grain}", type_=BigInteger()) for grain in GRAINS),
)
# One multi-row upsert (a row per grain), the same text on PostgreSQL and SQLite. Written as
# text: SQLAlchemy recompiles a multi-row ``insert().values([...])`` on every call, which cost
# ten times the statement itself.
_BUMP = DriverStatement(text(_BUMP_SQL).bindparams(*_BUMP_PARAMETERS))


def _bump_parameters(
    user_id: uuid.UUID, metric: Metric | FunnelMetric | UsageMetric, at: dt.datetime, by: int
) -> dict[str, Any]:
    if str(metric) not in _KNOWN:
        raise ValueError(f"unknown metric {metric!r}")
    if at.tzinfo is None:
        raise ValueError("bump() needs an aware datetime")
    params: dict[str, Any] = {"user_id": user_id, "metric": str(metric), "by": by}
    for grain, start in bucket_starts(at):
        params[f"start_{grain}"] = start
    return params


async def bump(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    metric: Metric | FunnelMetric | UsageMetric,
    at: dt.datetime,
    by: int = 1,
) -> None:
    """Add ``by`` to ``metric`` of ``user_id`` at instant ``at``, in the caller's transaction.

    Webhook deliveries move ``Metric.WEBHOOK_DELIVERIES_SUCCEEDED`` / ``..._FAILED`` through
    :class:`DeliveryCounterHook`, in the transaction that settles (or reopens) the delivery;
    ``by`` is negative when a delivery leaves a final status.
    """
    await _BUMP.execute(session, _bump_parameters(user_id, metric, at, by))


_DAY_SECONDS = 86400


class TokenUsageCounters:
    """Language-model tokens as analytics counters (``aiclone.research.usage.TokenCounters``):
    ``llm_tokens`` and its two halves at every grain, so "per user and per day" is one row."""

    async def add(
        self, session: AsyncSession, user_id: uuid.UUID, *, at: dt.datetime, tokens_in: int, tokens_out: int
    ) -> None:
        await bump(session, user_id=user_id, metric=Metric.LLM_TOKENS, at=at, by=tokens_in + tokens_out)
        if tokens_in:
            await bump(session, user_id=user_id, metric=UsageMetric.TOKENS_IN, at=at, by=tokens_in)
        if tokens_out:
            await bump(session, user_id=user_id, metric=UsageMetric.TOKENS_OUT, at=at, by=tokens_out)

    async def on_day(self, session: AsyncSession, user_id: uuid.UUID, at: dt.datetime) -> int:
        day = at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        total = await session.scalar(
            select(AnalyticsCounter.count).where(
                AnalyticsCounter.user_id == user_id,
                AnalyticsCounter.grain == _DAY_SECONDS,
                AnalyticsCounter.bucket_start == int(day.timestamp()),
                AnalyticsCounter.metric == Metric.LLM_TOKENS.value,
            )
        )
        return int(total or 0)


def _prospect_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 64:
        return value
    return None


class AnalyticsCounterHook:
    """Moves the counters (and the prospect funnel) that an event concerns."""

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        metric = metric_for(event)
        if event.type == EventType.PROSPECT_ADDED and metric is not None:
            await self._prospect_added(session, event, metric)
            return
        if metric is not None:
            await bump(session, user_id=event.user_id, metric=metric, at=event.created_at)
        data = event.data
        if event.type == EventType.PROSPECT_UPDATED:
            reason = data.get("reason")
            if reason == REASON_APPROVED:
                await self._reach(session, event, _prospect_id(data.get("id")), FunnelMetric.APPROVED)
            elif reason == REASON_MEETING_BOOKED:
                await self._reach(session, event, _prospect_id(data.get("id")), FunnelMetric.MEETING_BOOKED)
        elif event.type == EventType.OUTREACH_SENT:
            await self._reach(session, event, _prospect_id(data.get("prospect_id")), FunnelMetric.CONTACTED)

    async def _prospect_added(self, session: AsyncSession, event: EventRecord, metric: Metric) -> None:
        """The event's counters and the prospect's funnel entry (on PostgreSQL one statement)."""
        counters = _bump_parameters(event.user_id, metric, event.created_at, 1)
        prospect_id = _prospect_id(event.data.get("id"))
        if prospect_id is None:
            await _BUMP.execute(session, counters)
            return
        approved = event.data.get("approval_status") == REASON_APPROVED
        entry = {
            "user_id": event.user_id,
            "prospect_id": prospect_id,
            "added_at": event.created_at,
            "approved_at": event.created_at if approved else None,
        }
        if (await session.connection()).dialect.name == "postgresql":
            inserted = bool(await _ADDED_PG.rows(session, {**counters, **entry}))
        else:
            await _BUMP.execute(session, counters)
            inserted = bool(await _FUNNEL_ENTRY.rows(session, entry))
        if inserted and approved:
            await bump(session, user_id=event.user_id, metric=FunnelMetric.APPROVED, at=event.created_at)

    async def _reach(
        self, session: AsyncSession, event: EventRecord, prospect_id: str | None, stage: FunnelMetric
    ) -> None:
        if prospect_id is None:
            return
        params = {"b_user_id": event.user_id, "b_prospect_id": prospect_id, "b_at": event.created_at}
        added_at = await _REACH[stage].scalar(session, params)
        if added_at is not None:
            # Counted in the bucket of the prospect's addition: the funnel is by cohort.
            await bump(session, user_id=event.user_id, metric=stage, at=added_at)


_DELIVERY_METRICS = {
    DELIVERY_SUCCEEDED: Metric.WEBHOOK_DELIVERIES_SUCCEEDED,
    DELIVERY_FAILED: Metric.WEBHOOK_DELIVERIES_FAILED,
}


class DeliveryCounterHook:
    """Moves the delivery counters as webhook deliveries settle (the webhooks' settlement hook).

    Each non-test delivery counts once, by its current final status, at its ``finished_at``:
    what ``aiclone analytics rebuild`` computes from the table. Other statuses move nothing.
    """

    async def settled(
        self, session: AsyncSession, *, user_id: uuid.UUID, status: str, at: dt.datetime, by: int = 1
    ) -> None:
        metric = _DELIVERY_METRICS.get(status)
        if metric is not None and by:
            await bump(session, user_id=user_id, metric=metric, at=at, by=by)

    async def unsettled(
        self, session: AsyncSession, *, user_id: uuid.UUID, status: str, times: Iterable[dt.datetime]
    ) -> None:
        """One counter update per finest bucket, not one per delivery (a recovery may requeue
        thousands). Every grain is a multiple of the finest, so the bucket's start lands in the
        same coarser buckets."""
        buckets = Counter(from_epoch(s - s % FINEST_GRAIN) for s in map(to_epoch, times))
        for at, count in buckets.items():
            await self.settled(session, user_id=user_id, status=status, at=at, by=-count)


# The hook's statements are built once and run with parameters (no per-event construction).
_FUNNEL: Table = ProspectFunnelEntry.__table__  # type: ignore[assignment]

_FUNNEL_ENTRY_SQL = (
    "INSERT INTO analytics_prospect_funnel (user_id, prospect_id, added_at, approved_at)"
    " VALUES (:user_id, :prospect_id, :added_at, :approved_at)"
    " ON CONFLICT (user_id, prospect_id) DO NOTHING RETURNING prospect_id"
)
_FUNNEL_ENTRY_PARAMETERS: tuple[BindParameter[Any], ...] = (
    bindparam("prospect_id", type_=String()),
    bindparam("added_at", type_=_FUNNEL.c.added_at.type),
    bindparam("approved_at", type_=_FUNNEL.c.approved_at.type),
)
_FUNNEL_ENTRY = DriverStatement(
    text(_FUNNEL_ENTRY_SQL).bindparams(bindparam("user_id", type_=Uuid()), *_FUNNEL_ENTRY_PARAMETERS)
)
# PostgreSQL: the counters' upsert as a data-modifying CTE of the funnel entry, one round trip.
# Both always run to completion; the answer is the funnel entry's (a row when it was new). The
# order of the two writes is the server's to choose, which is safe: every row either touches
# belongs to the event's user, whose writers already run one at a time on the seq row.
_ADDED_PG = DriverStatement(
    text(f"WITH counted AS ({_BUMP_SQL}) {_FUNNEL_ENTRY_SQL}").bindparams(
        *_BUMP_PARAMETERS, *_FUNNEL_ENTRY_PARAMETERS
    )
)


def _reach_statement(column: Any) -> DriverStatement:
    """Mark a stage reached if it was not yet; returns the addition time when it was marked."""
    return DriverStatement(
        update(_FUNNEL)
        .where(
            _FUNNEL.c.user_id == bindparam("b_user_id"),
            _FUNNEL.c.prospect_id == bindparam("b_prospect_id"),
            column.is_(None),
        )
        .values({column: bindparam("b_at", type_=column.type)})
        .returning(_FUNNEL.c.added_at)
    )


_REACH = {
    FunnelMetric.APPROVED: _reach_statement(_FUNNEL.c.approved_at),
    FunnelMetric.CONTACTED: _reach_statement(_FUNNEL.c.contacted_at),
    FunnelMetric.MEETING_BOOKED: _reach_statement(_FUNNEL.c.meeting_booked_at),
}
