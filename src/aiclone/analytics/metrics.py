"""What the analytics counters count, and at which granularities.

Counters are kept at five fixed UTC granularities ("grains"), each row holding the number of
occurrences of one metric for one user in one bucket ``[bucket_start, bucket_start + grain)``,
``bucket_start`` being Unix seconds and a multiple of the grain (so days start at 00:00 UTC and
weeks on Thursday 00:00 UTC, the weekday of the Unix epoch):

* 900 s (quarter hour) — fine enough that every local hour, day, week and month boundary of
  every present-day IANA time zone falls on a bucket edge (all current UTC offsets are whole
  multiples of 15 minutes: Asia/Kolkata +05:30, Asia/Kathmandu +05:45, Pacific/Chatham +12:45);
* 1 h, 6 h, 1 day and 7 days — coarser copies of the same counts, each a multiple of the one
  before, so that an interval is summed from a few coarse rows in its middle plus finer rows at
  its two ends instead of thousands of fine rows (see :func:`aiclone.analytics.periods.decompose`).

Each occurrence therefore increments one row per grain (one upsert statement of five rows). A
summary then reads at most a few thousand counter rows, whatever the number of events behind
them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiclone.events.types import EventRecord, EventType

GRAINS: tuple[int, ...] = (900, 3600, 6 * 3600, 86400, 7 * 86400)
FINEST_GRAIN = GRAINS[0]


class Metric(StrEnum):
    """The metrics of the summary, in the order they are reported."""

    PROSPECTS_ANALYZED = "prospects_analyzed"
    RESEARCH_TASKS_COMPLETED = "research_tasks_completed"
    OUTREACH_SENT = "outreach_sent"
    MEETINGS_BOOKED = "meetings_booked"
    CONTENT_PUBLISHED = "content_published"
    AUTOMATIONS_TRIGGERED = "automations_triggered"
    WEBHOOK_DELIVERIES_SUCCEEDED = "webhook_deliveries_succeeded"
    WEBHOOK_DELIVERIES_FAILED = "webhook_deliveries_failed"
    LLM_TOKENS = "llm_tokens"


class UsageMetric(StrEnum):
    """Language-model tokens by direction, beside their sum ``Metric.LLM_TOKENS`` (the cost
    weighs them differently). Bumped by :func:`aiclone.research.usage.record_llm_usage` when a
    provider call ends, not derived from events, so the rebuild leaves them (and ``llm_tokens``)
    as they are."""

    TOKENS_IN = "llm_tokens_in"
    TOKENS_OUT = "llm_tokens_out"


class FunnelMetric(StrEnum):
    """Prospects reaching a funnel stage, counted in the bucket of the prospect's *addition*.

    Each prospect counts at most once per stage, so "of the prospects added in this period, how
    many were approved / contacted / booked a meeting (so far)" is a sum over the same buckets as
    the ``prospects_analyzed`` metric, and the stage counts never exceed the number added.
    """

    APPROVED = "funnel_approved"
    CONTACTED = "funnel_contacted"
    MEETING_BOOKED = "funnel_meeting_booked"


# Metrics that come from events (rebuildable from the events table); the webhook delivery
# metrics are bumped by the webhook worker when a delivery is settled.
EVENT_METRICS: tuple[Metric, ...] = (
    Metric.PROSPECTS_ANALYZED,
    Metric.RESEARCH_TASKS_COMPLETED,
    Metric.OUTREACH_SENT,
    Metric.MEETINGS_BOOKED,
    Metric.CONTENT_PUBLISHED,
    Metric.AUTOMATIONS_TRIGGERED,
)
DELIVERY_METRICS: tuple[Metric, ...] = (
    Metric.WEBHOOK_DELIVERIES_SUCCEEDED,
    Metric.WEBHOOK_DELIVERIES_FAILED,
)

# The prospect_updated reasons the funnel listens to.
REASON_APPROVED = "approved"
REASON_MEETING_BOOKED = "meeting_booked"
TASK_DONE = "done"
TASK_KIND_RESEARCH = "research"


def metric_for(event: EventRecord) -> Metric | None:
    """The metric an event moves, if any (the rebuild expresses the same rule in SQL)."""
    kind = event.type
    data: dict[str, Any] = event.data
    if kind == EventType.TASK_COMPLETED:
        # Drafting tasks share the runner and its events; only research counts here.
        research = data.get("kind", TASK_KIND_RESEARCH) == TASK_KIND_RESEARCH
        return Metric.RESEARCH_TASKS_COMPLETED if research and data.get("status") == TASK_DONE else None
    if kind == EventType.PROSPECT_UPDATED:
        return Metric.MEETINGS_BOOKED if data.get("reason") == REASON_MEETING_BOOKED else None
    return _EVERY_EVENT.get(kind)


# Event types of which every occurrence counts.
_EVERY_EVENT: dict[str, Metric] = {
    EventType.PROSPECT_ADDED.value: Metric.PROSPECTS_ANALYZED,
    EventType.OUTREACH_SENT.value: Metric.OUTREACH_SENT,
    EventType.CONTENT_PUBLISHED.value: Metric.CONTENT_PUBLISHED,
    EventType.AUTOMATION_TRIGGERED.value: Metric.AUTOMATIONS_TRIGGERED,
}
