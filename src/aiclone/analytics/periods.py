"""Periods, buckets and time zones of the summary (pure functions, no I/O).

The period of a summary
-----------------------
``time_range`` picks a bucket unit and a bucket count:

=========  ==========================  =======
range      bucket                      buckets
=========  ==========================  =======
day        hour                        24
week       day                         7
month      day                         30
quarter    week (ISO, Monday 00:00)    13
year       calendar month              12
=========  ==========================  =======

Buckets are calendar units of the requested time zone: a day bucket runs from local midnight to
the next local midnight (23 or 25 hours across a DST change), a week bucket from Monday 00:00,
a month bucket from the 1st at 00:00. Hour buckets are consecutive 60-minute intervals that start
on the local hour at the current UTC offset (in every zone whose DST shift is a whole hour, that
is every local hour).

The **period** is the ``N`` consecutive buckets ending with the bucket that contains ``now``: it
starts at the start of the first of them and ends at the end of the current one, which is still
filling (``as_of`` tells how far). The **previous period** is the ``N`` buckets immediately
before, so both cover the same calendar units; the current period's last bucket is partial.

A custom range
--------------
``start`` and ``end`` (local dates, ``end`` inclusive) give the period
``[local midnight of start, local midnight after end)`` in the requested zone instead. Its
length ``N`` in days picks the bucket unit, keeping at most ~100 buckets:

========  ========================  =======
days N    bucket                    buckets
========  ========================  =======
1-2       hour                      23-50
3-92      day                       N
93-366    week (ISO, Monday 00:00)  14-54
========  ========================  =======

Longer ranges are refused (366 days, the same bound as exports), as are ``start > end`` and
dates outside 1970-01-01 … 9998-12-31. Buckets are the same calendar units as above, clipped to
the range: a range that does not start on a Monday has a shorter first week (start → the next
Monday), one that does not end on a Sunday a shorter last week (the last Monday → the end); hour
buckets run in 60-minute steps from the first midnight, and the last one is cut at the final
midnight when DST left a part-hour. Nothing is clipped for day buckets. The **previous period**
is the ``N`` local days immediately before ``start`` (so its length in hours can differ by a DST
hour). A range that reaches past now is reported as it stands: the bucket holding now is still
filling (``as_of``) and later ones are zero.

Time zones
----------
Boundaries are computed with :mod:`zoneinfo` and stored counters are in UTC. Every boundary is an
instant on a 15-minute grid for present-day zones, which the finest counter grain resolves
exactly. A boundary that is not (historic local mean times) is moved back to the 15-minute grid
line before it. A local midnight that does not exist (a DST jump at 00:00) starts the day at the
first instant after the jump; an ambiguous one starts it at the first occurrence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiclone.analytics.metrics import FINEST_GRAIN, GRAINS
from aiclone.errors import FieldError, InvalidInput

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


class TimeRange(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class BucketUnit(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


LAYOUT: dict[TimeRange, tuple[BucketUnit, int]] = {
    TimeRange.DAY: (BucketUnit.HOUR, 24),
    TimeRange.WEEK: (BucketUnit.DAY, 7),
    TimeRange.MONTH: (BucketUnit.DAY, 30),
    TimeRange.QUARTER: (BucketUnit.WEEK, 13),
    TimeRange.YEAR: (BucketUnit.MONTH, 12),
}

DEFAULT_TIME_RANGE = TimeRange.WEEK

# Custom ranges: the longest range, and the longest one drawn by hour and by day.
MAX_RANGE_DAYS = 366
HOURLY_MAX_DAYS = 2
DAILY_MAX_DAYS = 92
FIRST_DATE = dt.date(1970, 1, 1)
LAST_DATE = dt.date(9998, 12, 31)

# The counter decomposition reads rows of these grains, coarsest first.
_COARSE_FIRST = tuple(sorted(GRAINS, reverse=True))


_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a 422 naming the ``tz`` field."""
    error = InvalidInput(
        "Unknown time zone.",
        errors=[FieldError(field="tz", message=f"not an IANA time zone name: {name[:64]!r}")],
    )
    # ZoneInfo also accepts file-system-like keys; keep to the shape of real zone names, and
    # never name the server's own configured zone ("localtime").
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        raise error
    if name in _NOT_ZONES:
        raise error
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise error from None


def to_epoch(instant: dt.datetime) -> int:
    """Whole Unix seconds (floor) of an aware datetime."""
    return (instant - EPOCH) // SECOND


def from_epoch(seconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


def bucket_starts(instant: dt.datetime) -> list[tuple[int, int]]:
    """``(grain, bucket_start)`` of every counter row an occurrence at ``instant`` moves."""
    seconds = to_epoch(instant)
    return [(grain, seconds - seconds % grain) for grain in GRAINS]


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    # fold=0: a skipped midnight resolves to the instant of the jump, an ambiguous one to its
    # first occurrence; both are the first instant of that local date.
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(dt.UTC)


def _grid(instant: dt.datetime) -> int:
    seconds = to_epoch(instant)
    return seconds - seconds % FINEST_GRAIN


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Plan:
    """Where the buckets of one summary lie, as Unix seconds on the 15-minute grid."""

    # None for a custom range of dates.
    time_range: TimeRange | None
    unit: BucketUnit
    tz: ZoneInfo
    now: dt.datetime
    # N + 1 edges: bucket i is [edges[i], edges[i + 1]); the period is [edges[0], edges[-1]).
    edges: tuple[int, ...]
    previous_start: int

    @property
    def bucket_count(self) -> int:
        return len(self.edges) - 1


def plan(time_range: TimeRange, tz: ZoneInfo, now: dt.datetime) -> Plan:
    unit, count = LAYOUT[time_range]
    local_now = now.astimezone(tz)
    if unit is BucketUnit.HOUR:
        current = _grid(local_now.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC))
        edges = [current + 3600 * k for k in range(-(count - 1), 2)]
        previous = edges[0] - 3600 * count
    elif unit in (BucketUnit.DAY, BucketUnit.WEEK):
        step = 1 if unit is BucketUnit.DAY else 7
        first_day = local_now.date() - dt.timedelta(days=local_now.weekday() if step == 7 else 0)
        days = [first_day + dt.timedelta(days=step * k) for k in range(-(2 * count - 1), 2)]
        instants = [_grid(_local_midnight(day, tz)) for day in days]
        edges, previous = instants[count:], instants[0]
    else:
        months = [_add_months(local_now.year, local_now.month, k) for k in range(-(2 * count - 1), 2)]
        instants = [_grid(_local_midnight(dt.date(y, m, 1), tz)) for y, m in months]
        edges, previous = instants[count:], instants[0]
    return Plan(time_range=time_range, unit=unit, tz=tz, now=now, edges=tuple(edges), previous_start=previous)


def _date_error(field: str, message: str) -> InvalidInput:
    return InvalidInput("The date range is not valid.", errors=[FieldError(field=field, message=message)])


def range_days(start: dt.date, end: dt.date) -> int:
    """The number of days of ``start … end`` (inclusive), or a 422 naming the offending field."""
    for name, value in (("start", start), ("end", end)):
        if not FIRST_DATE <= value <= LAST_DATE:
            raise _date_error(name, f"must be between {FIRST_DATE} and {LAST_DATE}")
    if start > end:
        raise _date_error("end", "must not be before start")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise _date_error("end", f"the range may span at most {MAX_RANGE_DAYS} days (this one spans {days})")
    return days


def unit_for(days: int) -> BucketUnit:
    if days <= HOURLY_MAX_DAYS:
        return BucketUnit.HOUR
    if days <= DAILY_MAX_DAYS:
        return BucketUnit.DAY
    return BucketUnit.WEEK


def custom_plan(start: dt.date, end: dt.date, tz: ZoneInfo, now: dt.datetime) -> Plan:
    """The plan of the local dates ``start … end`` (inclusive); see "A custom range" above."""
    days = range_days(start, end)
    unit = unit_for(days)
    first = _grid(_local_midnight(start, tz))
    last = _grid(_local_midnight(end + dt.timedelta(days=1), tz))
    previous = _grid(_local_midnight(start - dt.timedelta(days=days), tz))
    if unit is BucketUnit.HOUR:
        # Every edge is an hour after the one before, on the grid as the first one is.
        inner = list(range(first, last, 3600))
    elif unit is BucketUnit.DAY:
        inner = [_grid(_local_midnight(start + dt.timedelta(days=k), tz)) for k in range(days)]
    else:
        monday = start + dt.timedelta(days=7 - start.weekday())
        mondays = [monday + dt.timedelta(days=7 * k) for k in range((end - monday).days // 7 + 1)]
        inner = [first, *(_grid(_local_midnight(day, tz)) for day in mondays)]
    return Plan(time_range=None, unit=unit, tz=tz, now=now, edges=(*inner, last), previous_start=previous)


def decompose(start: int, end: int) -> list[tuple[int, int, int]]:
    """Cover ``[start, end)`` (15-minute grid) with ``(grain, lo, hi)`` ranges of whole buckets.

    The largest grain-aligned block inside the interval is taken at the coarsest grain that has
    one; the two remainders, each shorter than that grain, are covered the same way with finer
    grains. A month bucket thus reads about 4 week rows, up to 12 day rows and a handful of
    6-hour, hour and quarter-hour rows at each end, instead of ~2,900 quarter-hour rows.
    """
    if start >= end:
        return []
    for grain in _COARSE_FIRST:
        lo = -(-start // grain) * grain
        hi = end // grain * grain
        if lo < hi:
            return [*decompose(start, lo), (grain, lo, hi), *decompose(hi, end)]
    raise ValueError(f"interval [{start}, {end}) is not on the {FINEST_GRAIN}-second grid")


def ranges(p: Plan) -> list[tuple[int, int, int, int]]:
    """``(bucket_no, grain, lo, hi)`` for every bucket; ``bucket_no`` -1 is the previous period."""
    out = [(-1, *r) for r in decompose(p.previous_start, p.edges[0])]
    for i in range(p.bucket_count):
        out.extend((i, *r) for r in decompose(p.edges[i], p.edges[i + 1]))
    return out
