"""The analytics summary, on both databases, against hand-computed expectations.

Counters are seeded the way production makes them: real events are recorded (their hooks run),
then moved to known instants and the user's counters rebuilt from the events table. The
service's clock is fixed, so periods and buckets are known in advance.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from aiclone.analytics.counters import AnalyticsCounterHook, bump
from aiclone.analytics.metrics import GRAINS, FunnelMetric, Metric
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.analytics.periods import TimeRange, decompose, plan, ranges, to_epoch
from aiclone.analytics.rebuild import rebuild
from aiclone.analytics.service import trend
from aiclone.container import Services
from aiclone.events.models import Event
from aiclone.events.types import EventRecord, EventType
from tests.support.analytics_flows import insert_deliveries, run_flows
from tests.support.factories import UserFactory

Client = AsyncTestClient[Litestar]
UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 15, 30, tzinfo=UTC)  # a Monday; 11:30 EDT, 21:00 IST
FUNNEL = [m.value for m in FunnelMetric]
ROOT = Path(__file__).resolve().parents[3]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


Seed = tuple[str, dict[str, Any], dt.datetime]


async def seed(services: Services, user_id: uuid.UUID, items: list[Seed]) -> None:
    """Record real events, move them to the given instants, rebuild the user's counters."""
    moved: list[tuple[int, dt.datetime]] = []
    async with services.db.session() as session:
        for kind, data, when in items:
            event = await services.events.record(session, user_id=user_id, type=kind, data=data)
            moved.append((event.seq, when))
    async with services.db.session() as session:
        for seq, when in moved:
            await session.execute(
                update(Event).where(Event.user_id == user_id, Event.seq == seq).values(created_at=when)
            )
    await rebuild(services.db, user_id=user_id)


def added(when: dt.datetime, prospect_id: str | None = None, **extra: Any) -> Seed:
    data = {"id": prospect_id or str(uuid.uuid4()), "name": "P", "approval_status": "pending", **extra}
    return (EventType.PROSPECT_ADDED, data, when)


def updated(when: dt.datetime, prospect_id: str, reason: str) -> Seed:
    return (
        EventType.PROSPECT_UPDATED,
        {"id": prospect_id, "name": "P", "changes": [], "reason": reason},
        when,
    )


def outreach(when: dt.datetime, prospect_id: str) -> Seed:
    return (EventType.OUTREACH_SENT, {"id": str(uuid.uuid4()), "prospect_id": prospect_id}, when)


@pytest.fixture
def freeze(app: Litestar) -> Callable[[dt.datetime], None]:
    services: Services = app.state["services"]

    def set_now(now: dt.datetime) -> None:
        services.analytics.clock = lambda: now

    set_now(NOW)
    return set_now


async def get_summary(client: Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await client.get("/api/analytics/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(body: dict[str, Any], metric: str) -> list[int]:
    return [b["count"] for b in body["metrics"][metric]["buckets"]]


# --- pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "previous", "expected"),
    [
        (0, 0, (None, "stable")),
        (3, 0, (None, "up")),
        (11, 10, (10.0, "up")),
        (9, 10, (-10.0, "down")),
        (10, 10, (0.0, "stable")),
        (10, 11, (-9.1, "stable")),
        (12, 11, (9.1, "stable")),
        (0, 5, (-100.0, "down")),
        (1, 3, (-66.7, "down")),
    ],
)
def test_trend_rule(total: int, previous: int, expected: tuple[float | None, str]) -> None:
    assert trend(total, previous) == expected


def test_decompose_covers_the_interval_with_whole_buckets() -> None:
    start, end = to_epoch(at("2025-01-31T18:30:00")), to_epoch(at("2025-03-01T05:15:00"))
    parts = decompose(start, end)
    assert parts[0] == (900, start, start + 1800)  # 18:30-19:00 in quarter hours
    assert parts[1] == (3600, start + 1800, to_epoch(at("2025-02-01T00:00:00")))  # 19:00-24:00
    # Thursday-aligned weeks in the middle: Feb 6 - Feb 27.
    assert (604800, to_epoch(at("2025-02-06T00:00:00")), to_epoch(at("2025-02-27T00:00:00"))) in parts
    assert parts[-2] == (3600, to_epoch(at("2025-03-01T00:00:00")), to_epoch(at("2025-03-01T05:00:00")))
    assert parts[-1] == (900, to_epoch(at("2025-03-01T05:00:00")), end)
    assert len(parts) <= 9
    # Contiguous, aligned and complete.
    assert parts[0][1] == start
    assert parts[-1][2] == end
    for (g1, _lo1, hi1), (_g2, lo2, _hi2) in itertools.pairwise(parts):
        assert hi1 == lo2
        assert g1 in GRAINS
    for grain, lo, hi in parts:
        assert lo % grain == 0
        assert hi % grain == 0


def test_year_plan_reads_few_ranges() -> None:
    p = plan(TimeRange.YEAR, ZoneInfo("Asia/Kolkata"), NOW)
    assert len(p.edges) == 13
    # Monthly buckets starting at local midnight of the 1st (18:30 UTC the day before).
    assert p.edges[0] == to_epoch(at("2024-03-31T18:30:00"))
    assert p.edges[-1] == to_epoch(at("2025-03-31T18:30:00"))
    assert len(ranges(p)) <= 13 * 9


# --- the endpoint ----------------------------------------------------------------------------


async def test_day_range_buckets_edges_previous_period_and_average(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(
        services,
        user.id,
        [
            added(at("2025-03-08T15:59:59")),  # before the previous period
            added(at("2025-03-08T16:00:00")),  # first instant of the previous period
            added(at("2025-03-09T15:59:59.999999")),  # last instant of the previous period
            added(at("2025-03-09T16:00:00")),  # bucket 0
            added(at("2025-03-09T16:59:59")),  # bucket 0
            added(at("2025-03-09T17:00:00")),  # bucket 1
            added(at("2025-03-10T15:29:59")),  # bucket 23, the current hour
        ],
    )
    body = await get_summary(client, user.headers, time_range="day")
    assert body["bucket"] == "hour"
    assert body["tz"] == "UTC"
    assert body["period"] == {"start": "2025-03-09T16:00:00Z", "end": "2025-03-10T16:00:00Z"}
    assert body["previous_period"] == {"start": "2025-03-08T16:00:00Z", "end": "2025-03-09T16:00:00Z"}
    assert body["as_of"] == "2025-03-10T15:30:00Z"
    metric = body["metrics"]["prospects_analyzed"]
    assert counts(body, "prospects_analyzed") == [2, 1] + [0] * 21 + [1]
    assert metric["buckets"][0] == {
        "start": "2025-03-09T16:00:00Z",
        "end": "2025-03-09T17:00:00Z",
        "local_start": "2025-03-09T16:00:00+00:00",
        "count": 2,
    }
    assert metric["period_start"] == "2025-03-09T16:00:00Z"
    assert metric["period_end"] == "2025-03-10T16:00:00Z"
    assert metric["total"] == 4
    assert metric["average"] == round(4 / 24, 3)
    assert metric["previous_total"] == 2
    assert metric["change_percent"] == 100.0
    assert metric["trend"] == "up"
    assert list(body["metrics"]) == [m.value for m in Metric]
    quiet = body["metrics"]["content_published"]
    assert len(quiet["buckets"]) == 24
    assert all(b["count"] == 0 for b in quiet["buckets"])
    assert (quiet["total"], quiet["previous_total"], quiet["change_percent"], quiet["trend"]) == (
        0,
        0,
        None,
        "stable",
    )


async def test_metrics_follow_their_events_and_trend_rules(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    this_week, last_week = at("2025-03-06T12:00:00"), at("2025-02-27T12:00:00")
    items: list[Seed] = []

    def times(n: int, seed_item: Callable[[dt.datetime], Seed], when: dt.datetime) -> None:
        items.extend(seed_item(when) for _ in range(n))

    # outreach 11 vs 10 -> +10 % up; content 9 vs 10 -> -10 % down; automations 10 vs 10 -> stable;
    # research done 10 vs 11 -> -9.1 % stable; meetings 3 vs 0 -> up, no percentage.
    times(11, lambda w: outreach(w, "none"), this_week)
    times(10, lambda w: outreach(w, "none"), last_week)
    times(9, lambda w: (EventType.CONTENT_PUBLISHED, {"id": "c"}, w), this_week)
    times(10, lambda w: (EventType.CONTENT_PUBLISHED, {"id": "c"}, w), last_week)
    times(10, lambda w: (EventType.AUTOMATION_TRIGGERED, {"id": "a"}, w), this_week)
    times(10, lambda w: (EventType.AUTOMATION_TRIGGERED, {"id": "a"}, w), last_week)
    times(10, lambda w: (EventType.TASK_COMPLETED, {"id": "t", "status": "done"}, w), this_week)
    times(11, lambda w: (EventType.TASK_COMPLETED, {"id": "t", "status": "done"}, w), last_week)
    # Failed and cancelled tasks, other prospect updates and bookkeeping events count nowhere.
    times(4, lambda w: (EventType.TASK_COMPLETED, {"id": "t", "status": "failed"}, w), this_week)
    times(2, lambda w: (EventType.TASK_COMPLETED, {"id": "t", "status": "cancelled"}, w), this_week)
    times(3, lambda w: updated(w, "p", "meeting_booked"), this_week)
    times(2, lambda w: updated(w, "p", "edited"), this_week)
    times(2, lambda w: (EventType.TASK_UPDATE, {"id": "t", "status": "running"}, w), this_week)
    times(1, lambda w: (EventType.RESEARCH_COMPLETED, {"id": "t"}, w), this_week)
    await seed(services, user.id, items)

    body = await get_summary(client, user.headers, time_range="week")
    m = body["metrics"]

    def shape(name: str) -> tuple[int, int, float | None, str]:
        return m[name]["total"], m[name]["previous_total"], m[name]["change_percent"], m[name]["trend"]

    assert shape("outreach_sent") == (11, 10, 10.0, "up")
    assert shape("content_published") == (9, 10, -10.0, "down")
    assert shape("automations_triggered") == (10, 10, 0.0, "stable")
    assert shape("research_tasks_completed") == (10, 11, -9.1, "stable")
    assert shape("meetings_booked") == (3, 0, None, "up")
    assert shape("prospects_analyzed") == (0, 0, None, "stable")
    # 2025-03-06 is the fourth of the seven days Mar 4..Mar 10.
    assert counts(body, "outreach_sent") == [0, 0, 11, 0, 0, 0, 0]
    assert m["outreach_sent"]["average"] == round(11 / 7, 3)


async def test_new_york_days_across_the_dst_change(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(
        services,
        user.id,
        [
            added(at("2025-03-09T04:59:59")),  # Mar 8 23:59:59 EST
            added(at("2025-03-09T05:00:00")),  # Mar 9 00:00 EST
            added(at("2025-03-10T03:59:59")),  # Mar 9 23:59:59 EDT (a 23-hour day)
            added(at("2025-03-10T04:00:00")),  # Mar 10 00:00 EDT
            added(at("2025-03-04T04:59:59")),  # Mar 3 23:59:59 EST: previous period
        ],
    )
    body = await get_summary(client, user.headers, time_range="week", tz="America/New_York")
    assert body["tz"] == "America/New_York"
    assert body["period"] == {"start": "2025-03-04T05:00:00Z", "end": "2025-03-11T04:00:00Z"}
    assert body["previous_period"]["start"] == "2025-02-25T05:00:00Z"
    assert counts(body, "prospects_analyzed") == [0, 0, 0, 0, 1, 2, 1]
    buckets = body["metrics"]["prospects_analyzed"]["buckets"]
    assert buckets[5]["start"] == "2025-03-09T05:00:00Z"
    assert buckets[5]["end"] == "2025-03-10T04:00:00Z"
    assert buckets[5]["local_start"] == "2025-03-09T00:00:00-05:00"
    assert buckets[6]["local_start"] == "2025-03-10T00:00:00-04:00"
    assert body["metrics"]["prospects_analyzed"]["previous_total"] == 1

    # Hourly buckets skip the local hour that does not exist (02:00 on Mar 9).
    freeze(at("2025-03-09T12:30:00"))  # 08:30 EDT
    hourly = await get_summary(client, user.headers, time_range="day", tz="America/New_York")
    labels = [b["local_start"] for b in hourly["metrics"]["prospects_analyzed"]["buckets"]]
    assert labels[0] == "2025-03-08T08:00:00-05:00"
    assert "2025-03-09T01:00:00-05:00" in labels
    index = labels.index("2025-03-09T01:00:00-05:00")
    assert labels[index + 1] == "2025-03-09T03:00:00-04:00"
    assert labels[-1] == "2025-03-09T08:00:00-04:00"
    hourly_counts = counts(hourly, "prospects_analyzed")
    assert hourly_counts[labels.index("2025-03-08T23:00:00-05:00")] == 1
    assert hourly_counts[labels.index("2025-03-09T00:00:00-05:00")] == 1
    assert sum(hourly_counts) == 2


async def test_kolkata_half_hour_boundaries(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(
        services,
        user.id,
        [
            added(at("2025-03-09T16:29:59")),  # 21:59:59 IST Mar 9: before the day range
            added(at("2025-03-09T16:30:00")),  # 22:00 IST: first hourly bucket
            added(at("2025-03-09T17:29:59")),  # 22:59:59 IST: first hourly bucket
            added(at("2025-03-09T17:30:00")),  # 23:00 IST: second
            added(at("2025-03-09T18:29:59")),  # 23:59:59 IST Mar 9
            added(at("2025-03-09T18:30:00")),  # 00:00 IST Mar 10
            added(at("2025-03-09T18:44:59")),  # 00:14:59 IST Mar 10
        ],
    )
    day = await get_summary(client, user.headers, time_range="day", tz="Asia/Kolkata")
    assert day["period"] == {"start": "2025-03-09T16:30:00Z", "end": "2025-03-10T16:30:00Z"}
    assert counts(day, "prospects_analyzed")[:4] == [2, 2, 2, 0]
    assert day["metrics"]["prospects_analyzed"]["buckets"][0]["local_start"] == "2025-03-09T22:00:00+05:30"
    assert day["metrics"]["prospects_analyzed"]["previous_total"] == 1

    week = await get_summary(client, user.headers, time_range="week", tz="Asia/Kolkata")
    assert week["period"] == {"start": "2025-03-03T18:30:00Z", "end": "2025-03-10T18:30:00Z"}
    assert counts(week, "prospects_analyzed") == [0, 0, 0, 0, 0, 5, 2]

    utc_week = await get_summary(client, user.headers, time_range="week")
    assert counts(utc_week, "prospects_analyzed") == [0, 0, 0, 0, 0, 7, 0]


async def test_month_quarter_and_year_ranges(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(
        services,
        user.id,
        [
            added(at("2024-03-31T23:59:59")),  # previous year period (Apr 2023 - Mar 2024)
            added(at("2024-04-01T00:00:00")),  # year bucket 0 (April 2024)
            added(at("2024-12-15T23:59:59")),  # quarter: before Monday Dec 16
            added(at("2024-12-16T00:00:00")),  # quarter bucket 0
            added(at("2025-02-08T23:59:59")),  # month: the day before the 30-day window
            added(at("2025-02-09T00:00:00")),  # month bucket 0
            added(at("2025-02-28T23:59:59")),  # year bucket 10 (February)
            added(at("2025-03-01T00:00:00")),  # year bucket 11 (March)
            added(at("2025-03-10T15:29:00")),  # everything's last bucket
        ],
    )
    year = await get_summary(client, user.headers, time_range="year")
    assert year["bucket"] == "month"
    assert year["period"] == {"start": "2024-04-01T00:00:00Z", "end": "2025-04-01T00:00:00Z"}
    assert year["previous_period"]["start"] == "2023-04-01T00:00:00Z"
    assert counts(year, "prospects_analyzed") == [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 2]
    assert year["metrics"]["prospects_analyzed"]["previous_total"] == 1

    quarter = await get_summary(client, user.headers, time_range="quarter")
    assert quarter["bucket"] == "week"
    assert quarter["period"] == {"start": "2024-12-16T00:00:00Z", "end": "2025-03-17T00:00:00Z"}
    assert len(quarter["metrics"]["prospects_analyzed"]["buckets"]) == 13
    assert counts(quarter, "prospects_analyzed") == [1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 1]

    month = await get_summary(client, user.headers, time_range="month")
    assert month["period"] == {"start": "2025-02-09T00:00:00Z", "end": "2025-03-11T00:00:00Z"}
    month_counts = counts(month, "prospects_analyzed")
    assert len(month_counts) == 30
    assert month_counts[0] == 1
    assert month_counts[19] == 1  # Feb 28
    assert month_counts[20] == 1  # Mar 1
    assert month_counts[29] == 1
    assert sum(month_counts) == 4


async def test_funnel_counts_each_prospect_once_in_its_cohort(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    p0, p1, p2, p3, p4, p5 = (str(uuid.uuid4()) for _ in range(6))
    day = at("2025-03-05T10:00:00")
    await seed(
        services,
        user.id,
        [
            added(at("2025-02-20T10:00:00"), p0),  # previous period's cohort
            added(day, p1),
            added(day, p2),
            added(day, p3),
            added(day, p4),
            added(day, p5, approval_status="approved"),  # added already approved
            updated(day + dt.timedelta(hours=1), p0, "approved"),  # counts for p0's cohort only
            updated(day + dt.timedelta(hours=1), p1, "approved"),
            updated(day + dt.timedelta(hours=2), p1, "rejected"),
            updated(day + dt.timedelta(hours=3), p1, "approved"),  # approved again: still once
            updated(day + dt.timedelta(hours=1), p2, "approved"),
            outreach(day + dt.timedelta(hours=4), p1),
            outreach(day + dt.timedelta(hours=5), p1),  # second message: still one contact
            outreach(day + dt.timedelta(hours=4), p3),  # contacted without approval
            outreach(day + dt.timedelta(hours=4), "unknown-prospect"),
            updated(day + dt.timedelta(hours=6), p1, "meeting_booked"),
        ],
    )
    body = await get_summary(client, user.headers, time_range="week")
    assert body["funnel"] == {
        "stages": [
            {"stage": "added", "count": 5, "conversion_percent": None},
            {"stage": "approved", "count": 3, "conversion_percent": 60.0},
            {"stage": "contacted", "count": 2, "conversion_percent": 66.7},
            {"stage": "meeting_booked", "count": 1, "conversion_percent": 50.0},
        ],
        "overall_conversion_percent": 20.0,
    }
    assert body["metrics"]["outreach_sent"]["total"] == 4
    assert body["metrics"]["meetings_booked"]["total"] == 1
    month = await get_summary(client, user.headers, time_range="month")
    assert [s["count"] for s in month["funnel"]["stages"]] == [6, 4, 2, 1]

    empty = await get_summary(client, (await users.create()).headers, time_range="week")
    assert empty["funnel"]["overall_conversion_percent"] is None
    assert [s["conversion_percent"] for s in empty["funnel"]["stages"]] == [None, None, None, None]


async def test_the_product_flows_feed_the_summary(
    client: Client, users: UserFactory, services: Services
) -> None:
    """Prospects, outreach and content made through their APIs move the metrics and the funnel."""
    user = await users.create()
    await run_flows(client, user.headers)
    body = await get_summary(client, user.headers, time_range="day")  # the real clock
    totals = {name: m["total"] for name, m in body["metrics"].items()}
    assert totals == {
        "prospects_analyzed": 3,
        "research_tasks_completed": 0,
        "outreach_sent": 1,
        "meetings_booked": 1,
        "content_published": 1,
        "automations_triggered": 0,
        "webhook_deliveries_succeeded": 0,
        "webhook_deliveries_failed": 0,
        "llm_tokens": 0,
    }
    assert [s["count"] for s in body["funnel"]["stages"]] == [3, 2, 1, 1]
    assert body["funnel"]["overall_conversion_percent"] == 33.3


async def _counter_rows(services: Services, user_id: uuid.UUID) -> dict[tuple[int, int, str], int]:
    async with services.db.read_session() as session:
        rows = await session.execute(
            select(
                AnalyticsCounter.grain,
                AnalyticsCounter.bucket_start,
                AnalyticsCounter.metric,
                AnalyticsCounter.count,
            ).where(AnalyticsCounter.user_id == user_id)
        )
        return {(r.grain, r.bucket_start, r.metric): r.count for r in rows}


async def _funnel_rows(services: Services, user_id: uuid.UUID) -> set[tuple[Any, ...]]:
    async with services.db.read_session() as session:
        rows = await session.execute(
            select(
                ProspectFunnelEntry.prospect_id,
                ProspectFunnelEntry.added_at,
                ProspectFunnelEntry.approved_at,
                ProspectFunnelEntry.contacted_at,
                ProspectFunnelEntry.meeting_booked_at,
            ).where(ProspectFunnelEntry.user_id == user_id)
        )
        return {tuple(r) for r in rows}


async def test_live_events_move_counters_exactly_as_a_rebuild_would(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    pid = str(uuid.uuid4())
    async with services.db.session() as session:
        for kind, data, _ in [
            added(NOW, pid),
            added(NOW, approval_status="approved"),
            updated(NOW, pid, "approved"),
            outreach(NOW, pid),
            outreach(NOW, pid),
            updated(NOW, pid, "meeting_booked"),
            (EventType.TASK_COMPLETED, {"id": "t", "status": "done"}, NOW),
            (EventType.CONTENT_PUBLISHED, {"id": "c"}, NOW),
            (EventType.AUTOMATION_TRIGGERED, {"id": "a"}, NOW),
        ]:
            await services.events.record(session, user_id=user.id, type=kind, data=data)
    # A rolled-back transaction moves nothing.
    with pytest.raises(RuntimeError):
        async with services.db.session() as session:
            await services.events.record(session, user_id=user.id, type=EventType.OUTREACH_SENT, data={})
            raise RuntimeError("abort")

    body = await get_summary(client, user.headers, time_range="day")  # the real clock
    assert counts(body, "prospects_analyzed")[-1] == 2
    assert body["metrics"]["outreach_sent"]["total"] == 2
    assert [s["count"] for s in body["funnel"]["stages"]] == [2, 2, 1, 1]
    live, live_funnel = await _counter_rows(services, user.id), await _funnel_rows(services, user.id)
    # 6 metrics and 3 funnel stages, each at every grain.
    assert {(grain, metric) for grain, _, metric in live} == {
        (grain, metric)
        for grain in GRAINS
        for metric in [*(m.value for m in Metric if not m.value.startswith(("webhook", "llm"))), *FUNNEL]
    }
    report = await rebuild(services.db, user_id=user.id)
    assert report.counter_rows == len(live)
    assert await _counter_rows(services, user.id) == live
    assert await _funnel_rows(services, user.id) == live_funnel


async def test_concurrent_writers_count_exactly(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()

    async def send() -> None:
        async with services.db.session() as session:
            await services.events.record(
                session, user_id=user.id, type=EventType.OUTREACH_SENT, data={"id": "o"}
            )

    await asyncio.gather(*(send() for _ in range(20)))
    rows = await _counter_rows(services, user.id)
    per_grain: dict[int, int] = {}
    for (grain, _, metric), value in rows.items():
        assert metric == "outreach_sent"
        per_grain[grain] = per_grain.get(grain, 0) + value
    assert per_grain == dict.fromkeys(GRAINS, 20)


async def test_hook_buckets_at_grain_edges(services: Services, users: UserFactory) -> None:
    user = await users.create()
    hook = AnalyticsCounterHook()
    async with services.db.session() as session:
        for when in (at("2025-03-09T23:59:59.999999"), at("2025-03-10T00:00:00")):
            await hook.on_event(
                session,
                EventRecord(user_id=user.id, seq=0, type=EventType.OUTREACH_SENT, data={}, created_at=when),
            )
    rows = await _counter_rows(services, user.id)
    midnight = to_epoch(at("2025-03-10T00:00:00"))
    thursday = to_epoch(at("2025-03-06T00:00:00"))
    assert rows == {
        (900, midnight - 900, "outreach_sent"): 1,
        (3600, midnight - 3600, "outreach_sent"): 1,
        (21600, midnight - 21600, "outreach_sent"): 1,
        (86400, midnight - 86400, "outreach_sent"): 1,
        (900, midnight, "outreach_sent"): 1,
        (3600, midnight, "outreach_sent"): 1,
        (21600, midnight, "outreach_sent"): 1,
        (86400, midnight, "outreach_sent"): 1,
        (604800, thursday, "outreach_sent"): 2,  # both in the week from Thursday Mar 6
    }


async def test_webhook_delivery_counts_bumped_live_and_rebuilt_from_deliveries(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    async with services.db.session() as session:
        await bump(
            session, user_id=user.id, metric=Metric.WEBHOOK_DELIVERIES_SUCCEEDED, at=at("2025-03-10T09:00:00")
        )
        await bump(
            session, user_id=user.id, metric=Metric.WEBHOOK_DELIVERIES_SUCCEEDED, at=at("2025-03-10T09:10:00")
        )
        await bump(
            session, user_id=user.id, metric=Metric.WEBHOOK_DELIVERIES_FAILED, at=at("2025-03-09T09:00:00")
        )
    body = await get_summary(client, user.headers, time_range="week")
    assert counts(body, "webhook_deliveries_succeeded") == [0, 0, 0, 0, 0, 0, 2]
    assert counts(body, "webhook_deliveries_failed") == [0, 0, 0, 0, 0, 1, 0]

    # The rebuild counts the deliveries table instead: finished, non-test deliveries by final status.
    created = at("2025-03-08T11:00:00")
    await insert_deliveries(
        services,
        user.id,
        [
            {"status": "succeeded", "created_at": created, "finished_at": at("2025-03-08T12:00:00")},
            {"status": "succeeded", "created_at": created, "finished_at": at("2025-03-08T23:59:59")},
            {"status": "failed", "created_at": created, "finished_at": at("2025-03-10T08:00:00")},
            {
                "status": "succeeded",
                "created_at": created,
                "finished_at": at("2025-03-08T12:00:00"),
                "is_test": True,
            },
            {"status": "pending", "created_at": created},
            {"status": "sending", "created_at": created},
        ],
    )
    await rebuild(services.db, user_id=user.id)
    body = await get_summary(client, user.headers, time_range="week")
    assert counts(body, "webhook_deliveries_succeeded") == [0, 0, 0, 0, 2, 0, 0]
    assert counts(body, "webhook_deliveries_failed") == [0, 0, 0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="unknown metric"):
        async with services.db.session() as session:
            await bump(session, user_id=user.id, metric="nope", at=NOW)  # type: ignore[arg-type]


async def test_rebuild_since_keeps_older_counters(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(services, user.id, [added(at("2025-03-05T12:00:00")), added(at("2025-03-08T12:00:00"))])
    # Events before the 7th are pruned; a rebuild since the 7th keeps the 5th's count.
    async with services.db.session() as session:
        await session.execute(
            Event.__table__.delete().where(
                Event.user_id == user.id, Event.created_at < at("2025-03-07T00:00:00")
            )
        )
    await rebuild(services.db, user_id=user.id, since=at("2025-03-07T13:00:00"))
    body = await get_summary(client, user.headers, time_range="week")
    assert counts(body, "prospects_analyzed") == [0, 1, 0, 0, 1, 0, 0]


async def test_rebuild_command_line(
    users: UserFactory, services: Services, database_url: str, tmp_path: Path
) -> None:
    user = await users.create()
    async with services.db.session() as session:
        await services.events.record(
            session, user_id=user.id, type=EventType.CONTENT_PUBLISHED, data={"id": "c"}
        )
        await session.execute(AnalyticsCounter.__table__.delete().where(AnalyticsCounter.user_id == user.id))
    assert await _counter_rows(services, user.id) == {}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "AICLONE_DATABASE_URL": database_url,
        "AICLONE_DATA_DIR": str(tmp_path),
        "AICLONE_AUTO_MIGRATE": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiclone",
        "analytics",
        "rebuild",
        "--user-id",
        str(user.id),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert f"user {user.id}" in out.decode()
    assert len(await _counter_rows(services, user.id)) == len(GRAINS)


async def test_scope_isolation_and_errors(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    alice, bob = await users.create(), await users.create()
    admin = await users.create(admin=True)
    await seed(services, alice.id, [added(at("2025-03-10T10:00:00"))])

    assert (await get_summary(client, bob.headers))["metrics"]["prospects_analyzed"]["total"] == 0
    as_admin = await get_summary(client, admin.headers, user_id=str(alice.id))
    assert as_admin["user_id"] == str(alice.id)
    assert as_admin["metrics"]["prospects_analyzed"]["total"] == 1
    assert (await get_summary(client, admin.headers))["metrics"]["prospects_analyzed"]["total"] == 0

    assert (await client.get("/api/analytics/summary")).status_code == 401
    forbidden = await client.get(
        "/api/analytics/summary", params={"user_id": str(alice.id)}, headers=bob.headers
    )
    assert forbidden.status_code == 403
    own = await client.get("/api/analytics/summary", params={"user_id": str(bob.id)}, headers=bob.headers)
    assert own.status_code == 200

    for params, field in [
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"tz": ""}, "tz"),
        ({"tz": "localtime"}, "tz"),
        ({"time_range": "decade"}, "time_range"),
    ]:
        response = await client.get("/api/analytics/summary", params=params, headers=alice.headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], response.json()
