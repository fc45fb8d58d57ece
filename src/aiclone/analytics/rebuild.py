"""Rebuilding the counters from the ``events`` table (``aiclone analytics rebuild``).

For installations that recorded events before analytics existed, or to repair counters. The
work is set-based SQL (``INSERT … SELECT … GROUP BY``): no event row is loaded into Python.

* Scope: one user or everyone; ``since`` (rounded down to the start of the coarsest counter
  bucket holding it, a Thursday 00:00 UTC, so every bucket of every grain is either wholly
  rebuilt or untouched) limits it to counters from then on and to the funnel cohorts added from
  then on. Without ``since`` everything event-derived is rebuilt.
* Events are pruned after ``AICLONE_EVENT_RETENTION_DAYS`` (deliveries after their own
  retention), counters are kept: a rebuild without ``since`` on a pruned installation forgets the
  history the pruned rows carried. Pass ``since`` (at most the retention age ago) to repair
  recent counters only.
* The webhook delivery metrics come from ``webhook_deliveries``: each retained, finished,
  non-test delivery counts once, by its final status, at ``finished_at``, which is also what the
  live counting keeps (see ``aiclone.analytics.counters.DeliveryCounterHook``). Finished deliveries are
  deleted after ``AICLONE_WEBHOOK_DELIVERY_RETENTION_DAYS``, so a full rebuild forgets older ones.
* It runs in one transaction. On PostgreSQL it first takes a SHARE ROW EXCLUSIVE lock on the two
  analytics tables, so event writers wait until it commits and every event is counted exactly
  once, by the rebuild or by the hook; on SQLite the write transaction already excludes them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.analytics.metrics import (
    DELIVERY_METRICS,
    EVENT_METRICS,
    GRAINS,
    REASON_APPROVED,
    REASON_MEETING_BOOKED,
    TASK_DONE,
    TASK_KIND_RESEARCH,
    FunnelMetric,
    Metric,
)
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.analytics.periods import from_epoch, to_epoch
from aiclone.db import Database
from aiclone.events.models import Event
from aiclone.events.types import EventType
from aiclone.shared_tables import DELIVERY_FAILED, DELIVERY_SUCCEEDED, webhook_deliveries


class RebuildReport(msgspec.Struct):
    since: dt.datetime | None
    user_id: uuid.UUID | None
    counter_rows: int
    funnel_entries: int


def epoch_seconds(column: Any, dialect: str) -> ColumnElement[int]:
    """Whole Unix seconds (floor) of a UTC timestamp column, in SQL."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff'. Its date functions round the
    # fraction to milliseconds (23:59:59.9996 would become the next day), so cut it off first.
    return cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)


def _grains() -> Any:
    return union_all(*(select(literal(g).label("grain")) for g in GRAINS)).subquery("grains")


def _metric_case() -> ColumnElement[str | None]:
    status = Event.data["status"].as_string()
    reason = Event.data["reason"].as_string()
    kind = Event.data["kind"].as_string()
    return case(
        (Event.type == EventType.PROSPECT_ADDED.value, literal(Metric.PROSPECTS_ANALYZED.value)),
        (
            and_(
                Event.type == EventType.TASK_COMPLETED.value,
                status == TASK_DONE,
                or_(kind.is_(None), kind == TASK_KIND_RESEARCH),
            ),
            literal(Metric.RESEARCH_TASKS_COMPLETED.value),
        ),
        (Event.type == EventType.OUTREACH_SENT.value, literal(Metric.OUTREACH_SENT.value)),
        (
            and_(Event.type == EventType.PROSPECT_UPDATED.value, reason == REASON_MEETING_BOOKED),
            literal(Metric.MEETINGS_BOOKED.value),
        ),
        (Event.type == EventType.CONTENT_PUBLISHED.value, literal(Metric.CONTENT_PUBLISHED.value)),
        (Event.type == EventType.AUTOMATION_TRIGGERED.value, literal(Metric.AUTOMATIONS_TRIGGERED.value)),
        else_=None,
    )


_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])


_deliveries = webhook_deliveries.c


def _delivery_metric() -> ColumnElement[str | None]:
    return case(
        (
            _deliveries.status == DELIVERY_SUCCEEDED,
            literal(Metric.WEBHOOK_DELIVERIES_SUCCEEDED.value),
        ),
        (
            _deliveries.status == DELIVERY_FAILED,
            literal(Metric.WEBHOOK_DELIVERIES_FAILED.value),
        ),
        else_=None,
    )


COUNTER_COLUMNS = ["user_id", "grain", "bucket_start", "metric", "count"]


class _Scope:
    def __init__(self, user_id: uuid.UUID | None, since: dt.datetime | None) -> None:
        self.user_id = user_id
        self.since = since

    def where(self, query: Any, user_column: Any, time_column: Any) -> Any:
        """``query`` kept to the user and to rows from ``since`` on, if the rebuild has them."""
        if self.user_id is not None:
            query = query.where(user_column == self.user_id)
        if self.since is not None:
            query = query.where(time_column >= self.since)
        return query

    def events(self, query: _Q) -> _Q:
        return self.where(query, Event.user_id, Event.created_at)  # type: ignore[no-any-return]

    def funnel(self, query: Any) -> Any:
        return self.where(query, ProspectFunnelEntry.user_id, ProspectFunnelEntry.added_at)


async def _insert_counts(session: AsyncSession, insert: Any, rows: Any) -> int:
    """Count ``rows`` (``user_id``, ``epoch``, ``metric``) into every grain's bucket."""
    grains = _grains()
    bucket = (rows.c.epoch // grains.c.grain * grains.c.grain).label("bucket_start")
    counted = (
        select(rows.c.user_id, grains.c.grain, bucket, rows.c.metric, func.count().label("count"))
        .select_from(rows.join(grains, literal(True)))
        .where(rows.c.metric.is_not(None))
        .group_by(rows.c.user_id, grains.c.grain, bucket, rows.c.metric)
    )
    result = await session.execute(insert(AnalyticsCounter).from_select(COUNTER_COLUMNS, counted))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _clear(session: AsyncSession, scope: _Scope) -> None:
    derived = [m.value for m in (*EVENT_METRICS, *DELIVERY_METRICS, *FunnelMetric)]
    clear = delete(AnalyticsCounter).where(AnalyticsCounter.metric.in_(derived))
    if scope.user_id is not None:
        clear = clear.where(AnalyticsCounter.user_id == scope.user_id)
    if scope.since is not None:
        clear = clear.where(AnalyticsCounter.bucket_start >= to_epoch(scope.since))
    await session.execute(clear)
    await session.execute(scope.funnel(delete(ProspectFunnelEntry)))


async def _count_events(session: AsyncSession, scope: _Scope, insert: Any, dialect: str) -> int:
    """Event metrics: every qualifying event, once per grain."""
    counted_types = [
        EventType.PROSPECT_ADDED,
        EventType.TASK_COMPLETED,
        EventType.OUTREACH_SENT,
        EventType.PROSPECT_UPDATED,
        EventType.CONTENT_PUBLISHED,
        EventType.AUTOMATION_TRIGGERED,
    ]
    tagged = scope.events(
        select(
            Event.user_id.label("user_id"),
            epoch_seconds(Event.created_at, dialect).label("epoch"),
            _metric_case().label("metric"),
        ).where(Event.type.in_([t.value for t in counted_types]))
    ).subquery("tagged")
    return await _insert_counts(session, insert, tagged)


async def _count_deliveries(session: AsyncSession, scope: _Scope, insert: Any, dialect: str) -> int:
    """Webhook deliveries by their final state, at the time they reached it (test sends excluded,
    as the worker does when it bumps these counters)."""
    finished = select(
        _deliveries.user_id.label("user_id"),
        epoch_seconds(_deliveries.finished_at, dialect).label("epoch"),
        _delivery_metric().label("metric"),
    ).where(
        _deliveries.status.in_([DELIVERY_SUCCEEDED, DELIVERY_FAILED]),
        _deliveries.finished_at.is_not(None),
        _deliveries.is_test.is_(False),
    )
    rows = scope.where(finished, _deliveries.user_id, _deliveries.finished_at)
    return await _insert_counts(session, insert, rows.subquery("finished"))


async def _enter_funnel(session: AsyncSession, scope: _Scope, insert: Any) -> int:
    """The funnel cohort: one entry per added prospect (approved if it was added approved)."""
    prospect_id = Event.data["id"].as_string()
    added = scope.events(
        select(
            Event.user_id,
            prospect_id,
            func.min(Event.created_at),
            func.min(
                case(
                    (Event.data["approval_status"].as_string() == REASON_APPROVED, Event.created_at),
                    else_=None,
                )
            ),
        )
        .where(Event.type == EventType.PROSPECT_ADDED.value, prospect_id.is_not(None))
        .group_by(Event.user_id, prospect_id)
    )
    result = await session.execute(
        insert(ProspectFunnelEntry)
        .from_select(["user_id", "prospect_id", "added_at", "approved_at"], added)
        .on_conflict_do_nothing(index_elements=["user_id", "prospect_id"])
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _mark_stages(session: AsyncSession, scope: _Scope) -> None:
    """The first time each funnel entry reached each later stage."""
    reason = Event.data["reason"].as_string()
    stages: list[tuple[Any, Any, Any]] = [
        (
            ProspectFunnelEntry.approved_at,
            Event.data["id"].as_string(),
            and_(Event.type == EventType.PROSPECT_UPDATED.value, reason == REASON_APPROVED),
        ),
        (
            ProspectFunnelEntry.contacted_at,
            Event.data["prospect_id"].as_string(),
            Event.type == EventType.OUTREACH_SENT.value,
        ),
        (
            ProspectFunnelEntry.meeting_booked_at,
            Event.data["id"].as_string(),
            and_(Event.type == EventType.PROSPECT_UPDATED.value, reason == REASON_MEETING_BOOKED),
        ),
    ]
    for column, pid, condition in stages:
        first = (
            scope.events(
                select(
                    Event.user_id.label("user_id"), pid.label("pid"), func.min(Event.created_at).label("at")
                )
                .where(condition, pid.is_not(None))
                .group_by(Event.user_id, pid)
            )
        ).subquery("first_reached")
        stage_update = (
            update(ProspectFunnelEntry)
            .where(
                ProspectFunnelEntry.user_id == first.c.user_id,
                ProspectFunnelEntry.prospect_id == first.c.pid,
                first.c.at >= ProspectFunnelEntry.added_at,
            )
            .values({column: func.coalesce(column, first.c.at)})
            .execution_options(synchronize_session=False)
        )
        await session.execute(scope.funnel(stage_update))


async def _count_funnel(session: AsyncSession, scope: _Scope, insert: Any, dialect: str) -> int:
    """Funnel counters, in the bucket of each prospect's addition."""
    added_epoch = epoch_seconds(ProspectFunnelEntry.added_at, dialect)
    rows = 0
    for stage, column in (
        (FunnelMetric.APPROVED, ProspectFunnelEntry.approved_at),
        (FunnelMetric.CONTACTED, ProspectFunnelEntry.contacted_at),
        (FunnelMetric.MEETING_BOOKED, ProspectFunnelEntry.meeting_booked_at),
    ):
        grains = _grains()
        bucket = (added_epoch // grains.c.grain * grains.c.grain).label("bucket_start")
        reached = scope.funnel(
            select(
                ProspectFunnelEntry.user_id,
                grains.c.grain,
                bucket,
                literal(stage.value).label("metric"),
                func.count().label("count"),
            )
            .select_from(ProspectFunnelEntry.__table__.join(grains, literal(True)))
            .where(column.is_not(None))
            .group_by(ProspectFunnelEntry.user_id, grains.c.grain, bucket)
        )
        result = await session.execute(insert(AnalyticsCounter).from_select(COUNTER_COLUMNS, reached))
        rows += int(result.rowcount)  # type: ignore[attr-defined]
    return rows


async def rebuild(
    db: Database, *, user_id: uuid.UUID | None = None, since: dt.datetime | None = None
) -> RebuildReport:
    if since is not None:
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        seconds = to_epoch(since)
        since = from_epoch(seconds - seconds % max(GRAINS))
    async with db.session() as session:
        return await rebuild_in(session, user_id=user_id, since=since)


async def rebuild_in(
    session: AsyncSession, *, user_id: uuid.UUID | None, since: dt.datetime | None
) -> RebuildReport:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    if dialect == "postgresql":
        await session.execute(
            text("LOCK TABLE analytics_counters, analytics_prospect_funnel IN SHARE ROW EXCLUSIVE MODE")
        )
    scope = _Scope(user_id, since)
    await _clear(session, scope)
    counter_rows = await _count_events(session, scope, insert, dialect)
    funnel_entries = await _enter_funnel(session, scope, insert)
    await _mark_stages(session, scope)
    counter_rows += await _count_deliveries(session, scope, insert, dialect)
    counter_rows += await _count_funnel(session, scope, insert, dialect)
    return RebuildReport(
        since=since, user_id=user_id, counter_rows=counter_rows, funnel_entries=funnel_entries
    )
