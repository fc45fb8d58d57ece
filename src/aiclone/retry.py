"""When to try a failed delivery again: webhook deliveries and the mail outbox alike.

The schedule is a list of delays between attempts (``AICLONE_WEBHOOK_RETRY_SCHEDULE``, default
``5s,5m,30m,2h,5h,10h,10h``: one first attempt plus seven retries over about 28 hours). Each delay
is spread by a random jitter so endpoints that failed together do not retry in lockstep. A
``Retry-After`` header (seconds or an HTTP date) replaces the scheduled delay, clamped to
``[1 s, AICLONE_WEBHOOK_RETRY_AFTER_MAX_SECONDS]`` so a receiver can neither make us hammer it nor
park a delivery for days; it never adds attempts beyond the schedule.

Pure functions only. The schedule itself is read once at start by the webhook settings
(aiclone.settings.durations).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random

MIN_RETRY_AFTER_SECONDS = 1.0


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def next_delay(
    schedule: tuple[float, ...],
    retries_done: int,
    *,
    jitter: float,
    retry_after: float | None = None,
    retry_after_max: float = 3600.0,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt, or None when the schedule is exhausted.

    ``retries_done`` counts the scheduled retries already used (0 after the first attempt).
    """
    if retries_done >= len(schedule):
        return None
    if retry_after is not None:
        return min(max(retry_after, MIN_RETRY_AFTER_SECONDS), retry_after_max)
    base = schedule[retries_done]
    if jitter <= 0:
        return base
    spread = (rng or random).uniform(-jitter, jitter)
    return base * (1.0 + spread)
