"""The analytics summary: counters summed per bucket, totals, trends and the prospect funnel.

Trend rule
----------
``change_percent = (total - previous_total) / previous_total * 100``. The trend is ``up`` when
the change is at least +10 %, ``down`` when it is at most -10 %, and ``stable`` in between (the
comparison is done on integers, so exactly ±10 % is up/down). With a zero previous total the
change is undefined (``change_percent`` is null): the trend is ``up`` if anything happened in the
period and ``stable`` if nothing did.

The funnel
----------
Of the prospects added in the period (the ``prospects_analyzed`` total), how many have been
approved, contacted (first outreach sent) and have booked a meeting — each prospect at most once
per stage, whenever that happened (a cohort funnel, so the stage counts of a past period can
still grow). ``conversion_percent`` is a stage's count over the previous stage's count; a flow
that skips a stage (contacting a prospect that was never approved) can make it exceed 100.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from enum import StrEnum

from aiclone.analytics.metrics import FunnelMetric, Metric, UsageMetric
from aiclone.analytics.periods import (
    DEFAULT_TIME_RANGE,
    TimeRange,
    custom_plan,
    from_epoch,
    plan,
    ranges,
    zone,
)
from aiclone.analytics.repository import counter_sums
from aiclone.analytics.schemas import (
    AnalyticsSummary,
    Bucket,
    DateSpan,
    Funnel,
    FunnelStage,
    LlmUsageSummary,
    MetricSummary,
    Period,
    Trend,
)
from aiclone.db import Database, utcnow
from aiclone.errors import FieldError, InvalidInput
from aiclone.research.usage import TokenPrices

TREND_THRESHOLD_PERCENT = 10


def trend(total: int, previous: int) -> tuple[float | None, Trend]:
    if previous == 0:
        return None, "up" if total > 0 else "stable"
    change = round((total - previous) * 100 / previous, 1)
    delta = (total - previous) * 100
    if delta >= TREND_THRESHOLD_PERCENT * previous:
        return change, "up"
    if delta <= -TREND_THRESHOLD_PERCENT * previous:
        return change, "down"
    return change, "stable"


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part * 100 / whole, 1)


def _custom_dates(
    time_range: TimeRange | None, start: dt.date | None, end: dt.date | None
) -> DateSpan | None:
    if start is None and end is None:
        return None
    if time_range is not None:
        raise InvalidInput(
            "Choose either a time_range or start and end dates, not both.",
            errors=[FieldError(field="time_range", message="cannot be combined with start and end")],
        )
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise InvalidInput(
            "A custom range needs both dates.",
            errors=[
                FieldError(field=missing, message="is required with " + ("end" if start is None else "start"))
            ],
        )
    return DateSpan(start=start, end=end)


class _Sums:
    """The counter sums of one summary: bucket ``i`` of the period, or ``-1`` for the previous one."""

    def __init__(self, sums: dict[tuple[str, int], int], bucket_count: int) -> None:
        self.sums = sums
        self.bucket_count = bucket_count

    def counts(self, metric: StrEnum) -> list[int]:
        return [self.sums.get((metric.value, i), 0) for i in range(self.bucket_count)]

    def total(self, metric: StrEnum) -> int:
        return sum(self.counts(metric))

    def previous(self, metric: StrEnum) -> int:
        return self.sums.get((metric.value, -1), 0)


def _metric_summary(
    sums: _Sums, metric: Metric, edges: list[dt.datetime], labels: list[str]
) -> MetricSummary:
    """One metric's buckets over ``edges`` (labelled in the caller's zone), total and trend."""
    counts = sums.counts(metric)
    total = sum(counts)
    previous = sums.previous(metric)
    change, direction = trend(total, previous)
    return MetricSummary(
        period_start=edges[0],
        period_end=edges[-1],
        buckets=[
            Bucket(start=edges[i], end=edges[i + 1], local_start=labels[i], count=count)
            for i, count in enumerate(counts)
        ],
        total=total,
        average=round(total / sums.bucket_count, 3),
        previous_total=previous,
        change_percent=change,
        trend=direction,
    )


def _funnel(sums: _Sums) -> Funnel:
    stages = [
        ("added", sums.total(Metric.PROSPECTS_ANALYZED)),
        ("approved", sums.total(FunnelMetric.APPROVED)),
        ("contacted", sums.total(FunnelMetric.CONTACTED)),
        ("meeting_booked", sums.total(FunnelMetric.MEETING_BOOKED)),
    ]
    return Funnel(
        stages=[
            FunnelStage(
                stage=name,  # type: ignore[arg-type]
                count=count,
                conversion_percent=None if i == 0 else _percent(count, stages[i - 1][1]),
            )
            for i, (name, count) in enumerate(stages)
        ],
        overall_conversion_percent=_percent(stages[-1][1], stages[0][1]),
    )


class AnalyticsService:
    def __init__(
        self, db: Database, *, clock: Callable[[], dt.datetime] = utcnow, prices: TokenPrices | None = None
    ) -> None:
        self.db = db
        self.prices = prices or TokenPrices()
        # Tests set a fixed clock; everything time-dependent reads "now" from here.
        self.clock = clock

    async def summary(
        self,
        user_id: uuid.UUID,
        *,
        time_range: TimeRange | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        tz: str,
    ) -> AnalyticsSummary:
        """The summary of a preset ``time_range`` (default week) or of the local dates ``start … end``.

        ``time_range`` is None when the caller did not choose one; it may not be combined with
        ``start``/``end``, which come together.
        """
        custom = _custom_dates(time_range, start, end)
        zone_info = zone(tz)
        now = self.clock()
        p = (
            custom_plan(custom.start, custom.end, zone_info, now)
            if custom is not None
            else plan(time_range or DEFAULT_TIME_RANGE, zone_info, now)
        )
        async with self.db.read_session() as session:
            sums = _Sums(await counter_sums(session, user_id, ranges(p)), p.bucket_count)
        edges = [from_epoch(e) for e in p.edges]
        labels = [edge.astimezone(zone_info).isoformat() for edge in edges]
        period = Period(start=edges[0], end=edges[-1])
        metrics = {metric.value: _metric_summary(sums, metric, edges, labels) for metric in Metric}
        return AnalyticsSummary(
            user_id=user_id,
            time_range=p.time_range,
            custom_range=custom,
            tz=zone_info.key,
            bucket=p.unit,
            as_of=p.now,
            period=period,
            previous_period=Period(start=from_epoch(p.previous_start), end=edges[0]),
            metrics=metrics,
            funnel=_funnel(sums),
            llm_usage=self._llm_usage(sums),
        )

    def _llm_usage(self, sums: _Sums) -> LlmUsageSummary:
        tokens_in = sums.total(UsageMetric.TOKENS_IN)
        tokens_out = sums.total(UsageMetric.TOKENS_OUT)
        priced = self.prices.set
        return LlmUsageSummary(
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=self.prices.cost(tokens_in, tokens_out) if priced else None,
            price_input_per_mtok=self.prices.input_per_mtok if priced else None,
            price_output_per_mtok=self.prices.output_per_mtok if priced else None,
        )
