"""Custom ranges of the analytics summary (``start``/``end`` local dates): the pure plan, then the
endpoint on both databases against hand-computed expectations (same seeding as
tests/integration/analytics/test_analytics_summary.py: real events moved to known instants, counters rebuilt).
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from aiclone.analytics.periods import (
    BucketUnit,
    custom_plan,
    from_epoch,
    ranges,
)
from aiclone.container import Services
from aiclone.errors import InvalidInput
from tests.integration.analytics.test_analytics_summary import (
    Client,
    added,
    at,
    counts,
    get_summary,
    outreach,
    seed,
    updated,
)
from tests.support.factories import UserFactory

NOW = dt.datetime(2026, 10, 15, 10, 0, tzinfo=dt.UTC)  # a Thursday
PARIS = ZoneInfo("Europe/Paris")
KOLKATA = ZoneInfo("Asia/Kolkata")
SUMMARY = "/api/analytics/summary"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def utc(seconds: int) -> str:
    return from_epoch(seconds).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def freeze(app: Litestar) -> Callable[[dt.datetime], None]:
    services: Services = app.state["services"]

    def set_now(now: dt.datetime) -> None:
        services.analytics.clock = lambda: now

    set_now(NOW)
    return set_now


# --- the pure plan ------------------------------------------------------------------------------


def test_a_single_day_is_24_hour_buckets_and_the_day_before() -> None:
    p = custom_plan(d("2026-10-14"), d("2026-10-14"), PARIS, NOW)
    assert p.time_range is None
    assert p.unit is BucketUnit.HOUR
    assert p.bucket_count == 24
    assert utc(p.edges[0]) == "2026-10-13T22:00"  # Paris midnight, CEST (+02:00)
    assert utc(p.edges[-1]) == "2026-10-14T22:00"
    assert all(b - a == 3600 for a, b in itertools.pairwise(p.edges))
    assert utc(p.previous_start) == "2026-10-12T22:00"


def test_dst_days_have_23_and_25_hour_buckets() -> None:
    # Europe/Paris: 2026-03-29 loses 02:00-03:00, 2026-10-25 repeats 02:00-03:00.
    spring = custom_plan(d("2026-03-29"), d("2026-03-29"), PARIS, NOW)
    assert spring.bucket_count == 23
    assert (utc(spring.edges[0]), utc(spring.edges[-1])) == ("2026-03-28T23:00", "2026-03-29T22:00")
    autumn = custom_plan(d("2026-10-25"), d("2026-10-25"), PARIS, NOW)
    assert autumn.bucket_count == 25
    assert (utc(autumn.edges[0]), utc(autumn.edges[-1])) == ("2026-10-24T22:00", "2026-10-25T23:00")
    # The previous period is the one local day before (24 hours), not 25 hours back.
    assert utc(autumn.previous_start) == "2026-10-23T22:00"
    # By day across the change: the day bucket of Oct 25 lasts 25 hours.
    week = custom_plan(d("2026-10-22"), d("2026-10-28"), PARIS, NOW)
    assert week.unit is BucketUnit.DAY
    assert week.bucket_count == 7
    lengths = [b - a for a, b in itertools.pairwise(week.edges)]
    assert lengths == [86400, 86400, 86400, 90000, 86400, 86400, 86400]
    assert utc(week.previous_start) == "2026-10-14T22:00"  # Oct 15, seven local days before


def test_two_days_are_hourly_three_days_daily() -> None:
    two = custom_plan(d("2026-10-24"), d("2026-10-25"), PARIS, NOW)
    assert (two.unit, two.bucket_count) == (BucketUnit.HOUR, 49)
    three = custom_plan(d("2026-10-24"), d("2026-10-26"), PARIS, NOW)
    assert (three.unit, three.bucket_count) == (BucketUnit.DAY, 3)


def test_kolkata_half_hour_offset() -> None:
    p = custom_plan(d("2026-10-01"), d("2026-10-31"), KOLKATA, NOW)
    assert (p.unit, p.bucket_count) == (BucketUnit.DAY, 31)
    assert utc(p.edges[0]) == "2026-09-30T18:30"
    assert utc(p.edges[-1]) == "2026-10-31T18:30"
    assert utc(p.previous_start) == "2026-08-30T18:30"  # Aug 31, 31 days before Oct 1
    hourly = custom_plan(d("2026-10-01"), d("2026-10-01"), KOLKATA, NOW)
    assert [utc(e) for e in hourly.edges[:2]] == ["2026-09-30T18:30", "2026-09-30T19:30"]
    for edge in (*p.edges, *hourly.edges):
        assert edge % 900 == 0


def test_month_edges_and_the_92_day_limit_of_day_buckets() -> None:
    feb = custom_plan(d("2028-02-01"), d("2028-02-29"), ZoneInfo("UTC"), NOW)  # a leap year
    assert (feb.unit, feb.bucket_count) == (BucketUnit.DAY, 29)
    assert utc(feb.edges[-1]) == "2028-03-01T00:00"
    assert utc(feb.previous_start) == "2028-01-03T00:00"
    quarter = custom_plan(d("2026-07-01"), d("2026-09-30"), ZoneInfo("UTC"), NOW)  # 92 days
    assert (quarter.unit, quarter.bucket_count) == (BucketUnit.DAY, 92)
    longer = custom_plan(d("2026-07-01"), d("2026-10-01"), ZoneInfo("UTC"), NOW)  # 93 days
    assert longer.unit is BucketUnit.WEEK


def test_week_buckets_are_clipped_to_the_range() -> None:
    # 2026-01-01 is a Thursday and 2026-12-31 a Thursday: Thu-Sun, 51 whole weeks, Mon-Thu.
    p = custom_plan(d("2026-01-01"), d("2026-12-31"), PARIS, NOW)
    assert (p.unit, p.bucket_count) == (BucketUnit.WEEK, 53)
    assert utc(p.edges[0]) == "2025-12-31T23:00"  # Jan 1 00:00 CET
    assert utc(p.edges[1]) == "2026-01-04T23:00"  # Monday Jan 5
    assert utc(p.edges[-2]) == "2026-12-27T23:00"  # Monday Dec 28
    assert utc(p.edges[-1]) == "2026-12-31T23:00"  # Jan 1 2027 00:00 CET
    for edge in p.edges[1:-1]:
        assert from_epoch(edge).astimezone(PARIS).weekday() == 0
        assert from_epoch(edge).astimezone(PARIS).time() == dt.time(0, 0)
    assert utc(p.previous_start) == "2024-12-31T23:00"  # 365 days before
    # Starting on a Monday and ending on a Sunday: only whole weeks.
    whole = custom_plan(d("2026-01-05"), d("2026-06-28"), PARIS, NOW)
    assert whole.bucket_count == 25
    assert {b - a for a, b in itertools.pairwise(whole.edges)} <= {7 * 86400, 7 * 86400 - 3600}
    # The longest range stays well under 100 buckets: start on Sunday, 52 weeks, then Monday.
    longest = custom_plan(d("2025-12-28"), d("2026-12-28"), PARIS, NOW)
    assert longest.bucket_count == 54
    assert len(ranges(longest)) <= 54 * 9 + 9


@pytest.mark.parametrize(
    ("start", "end", "field", "text"),
    [
        ("2026-10-02", "2026-10-01", "end", "must not be before start"),
        ("2026-01-01", "2027-01-02", "end", "at most 366 days"),
        ("1969-12-31", "1970-01-02", "start", "between"),
        ("9998-12-31", "9999-01-01", "end", "between"),
    ],
)
def test_invalid_ranges_name_the_field(start: str, end: str, field: str, text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        custom_plan(d(start), d(end), PARIS, NOW)
    assert [e.field for e in raised.value.errors] == [field]
    assert text in raised.value.errors[0].message


def test_366_days_is_accepted() -> None:
    assert custom_plan(d("2028-01-01"), d("2028-12-31"), PARIS, NOW).unit is BucketUnit.WEEK


# --- the endpoint ------------------------------------------------------------------------------


async def test_counts_of_a_range_are_the_events_in_it(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    p1 = "prospect-1"
    await seed(
        services,
        user.id,
        [
            added(at("2026-08-30T21:59:59")),  # Aug 30 23:59:59 CEST: before the previous period
            added(at("2026-09-29T22:00:00")),  # Sep 30 00:00 CEST: the previous period's last day
            added(at("2026-09-30T21:59:59")),  # Sep 30 23:59:59 CEST: still the previous period
            added(at("2026-09-30T22:00:00"), p1),  # Oct 1 00:00 CEST: bucket 0
            updated(at("2026-10-20T09:00:00"), p1, "approved"),  # counted in p1's cohort (Oct 1)
            outreach(at("2026-10-21T09:00:00"), p1),
            added(at("2026-10-12T11:00:00")),  # bucket 11
            added(at("2026-10-25T22:59:59")),  # Oct 25 23:59:59 CET (a 25-hour day): bucket 24
            added(at("2026-10-25T23:00:00")),  # Oct 26 00:00 CET: bucket 25
            added(at("2026-10-31T22:59:59")),  # Oct 31 23:59:59 CET: the last bucket
            added(at("2026-10-31T23:00:00")),  # Nov 1: after the range
        ],
    )
    body = await get_summary(client, user.headers, start="2026-10-01", end="2026-10-31", tz="Europe/Paris")
    assert body["time_range"] is None
    assert body["custom_range"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert body["bucket"] == "day"
    assert body["tz"] == "Europe/Paris"
    assert body["period"] == {"start": "2026-09-30T22:00:00Z", "end": "2026-10-31T23:00:00Z"}
    # The previous period is the 31 local days before (Aug 31 - Sep 30).
    assert body["previous_period"] == {"start": "2026-08-30T22:00:00Z", "end": "2026-09-30T22:00:00Z"}
    assert body["as_of"] == "2026-10-15T10:00:00Z"  # the range reaches past now: zeros after it
    expected = [0] * 31
    for index in (0, 11, 24, 25, 30):
        expected[index] = 1
    assert counts(body, "prospects_analyzed") == expected
    metric = body["metrics"]["prospects_analyzed"]
    assert (metric["total"], metric["previous_total"]) == (5, 2)
    assert metric["average"] == round(5 / 31, 3)
    assert (metric["change_percent"], metric["trend"]) == (150.0, "up")
    buckets = metric["buckets"]
    assert buckets[24]["local_start"] == "2026-10-25T00:00:00+02:00"
    assert (buckets[24]["start"], buckets[24]["end"]) == ("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
    assert buckets[25]["local_start"] == "2026-10-26T00:00:00+01:00"
    assert counts(body, "content_published") == [0] * 31  # zero-filled
    assert body["metrics"]["outreach_sent"]["total"] == 1
    # The funnel follows the range: of the 5 prospects added in it, one approved and contacted.
    assert [s["count"] for s in body["funnel"]["stages"]] == [5, 1, 1, 0]

    # The same data in hourly buckets: only Oct 25 (25 hours), and its previous day.
    day = await get_summary(client, user.headers, start="2026-10-25", end="2026-10-25", tz="Europe/Paris")
    assert day["bucket"] == "hour"
    hours = counts(day, "prospects_analyzed")
    assert len(hours) == 25
    assert hours[-1] == 1
    assert sum(hours) == 1
    assert day["metrics"]["prospects_analyzed"]["previous_total"] == 0
    labels = [b["local_start"] for b in day["metrics"]["prospects_analyzed"]["buckets"]]
    assert labels[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]


async def test_kolkata_range_by_week(
    client: Client, users: UserFactory, services: Services, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    await seed(
        services,
        user.id,
        [
            added(at("2026-01-01T18:29:59")),  # Jan 1 23:59:59 IST: before the range
            added(at("2026-01-01T18:30:00")),  # Jan 2 00:00 IST (a Friday): first, short week
            added(at("2026-01-04T18:29:59")),  # Sun Jan 4 23:59:59 IST: still the first week
            added(at("2026-01-04T18:30:00")),  # Mon Jan 5 00:00 IST: second week
            added(at("2026-05-01T18:29:59")),  # Fri May 1 23:59:59 IST: the last day, short week
            added(at("2026-05-01T18:30:00")),  # after the range
        ],
    )
    body = await get_summary(client, user.headers, start="2026-01-02", end="2026-05-01", tz="Asia/Kolkata")
    assert body["bucket"] == "week"
    assert body["period"] == {"start": "2026-01-01T18:30:00Z", "end": "2026-05-01T18:30:00Z"}
    weekly = counts(body, "prospects_analyzed")
    assert len(weekly) == 18  # Fri-Sun, 16 whole weeks, Mon-Fri
    assert weekly[:2] == [2, 1]
    assert weekly[-1] == 1
    assert sum(weekly) == 4
    first, last = (
        body["metrics"]["prospects_analyzed"]["buckets"][0],
        body["metrics"]["prospects_analyzed"]["buckets"][-1],
    )
    assert (first["local_start"], first["end"]) == ("2026-01-02T00:00:00+05:30", "2026-01-04T18:30:00Z")
    assert (last["local_start"], last["end"]) == ("2026-04-27T00:00:00+05:30", "2026-05-01T18:30:00Z")
    assert body["metrics"]["prospects_analyzed"]["previous_total"] == 1


async def test_range_errors_are_clear_422s(
    client: Client, users: UserFactory, freeze: Callable[[dt.datetime], None]
) -> None:
    user = await users.create()
    cases: list[tuple[dict[str, str], str, str]] = [
        (
            {"time_range": "week", "start": "2026-10-01", "end": "2026-10-31"},
            "time_range",
            "cannot be combined",
        ),
        ({"start": "2026-10-31", "end": "2026-10-01"}, "end", "must not be before start"),
        ({"start": "2026-01-01", "end": "2027-06-30"}, "end", "at most 366 days"),
        ({"start": "2026-10-01"}, "end", "is required with start"),
        ({"end": "2026-10-01"}, "start", "is required with end"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start", ""),
        ({"start": "2026-10-01", "end": "tomorrow"}, "end", ""),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start", "between"),
        ({"start": "2026-10-01", "end": "2026-10-02", "tz": "Mars/Base"}, "tz", ""),
    ]
    for params, field, text in cases:
        response = await client.get(SUMMARY, params=params, headers=user.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem: dict[str, Any] = response.json()
        assert [e["field"] for e in problem["errors"]] == [field], (params, problem)
        assert text in problem["errors"][0]["message"], problem
    # The longest accepted range, and an explicit time_range without dates, still work.
    ok = await get_summary(client, user.headers, start="2028-01-01", end="2028-12-31")
    assert len(ok["metrics"]["outreach_sent"]["buckets"]) == 53
    assert (await get_summary(client, user.headers, time_range="day"))["custom_range"] is None


async def test_admin_scope_and_openapi(client: Client, users: UserFactory, services: Services) -> None:
    alice, admin = await users.create(), await users.create(admin=True)
    await seed(services, alice.id, [added(at("2026-10-01T10:00:00"))])
    body = await get_summary(
        client, admin.headers, start="2026-10-01", end="2026-10-01", user_id=str(alice.id)
    )
    assert body["user_id"] == str(alice.id)
    assert body["metrics"]["prospects_analyzed"]["total"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = (await client.get("/api/openapi.json")).json()
    parameters = {p["name"]: p for p in schema["paths"][SUMMARY]["get"]["parameters"]}
    assert {"time_range", "start", "end", "tz", "user_id"} <= set(parameters)
    assert all(parameters[name]["in"] == "query" for name in ("time_range", "start", "end", "tz", "user_id"))
    assert parameters["time_range"]["description"] == (
        "The period and its buckets; `week` unless `start`/`end` are given."
    )
    assert parameters["start"]["schema"]["oneOf"][0] == {"type": "string", "format": "date"}
    assert parameters["tz"]["schema"]["default"] == "UTC"
    assert parameters["tz"]["description"] == "IANA time zone of the bucket boundaries."
