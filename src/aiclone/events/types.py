"""The event types of the backbone and the envelope every consumer sees.

This is the one catalogue of event types: the API document's ``webhooks`` section and
``GET /api/event-types`` are built from it, automations take the events a rule may react to from
:data:`AUTOMATION_TRIGGERS`, the dashboard from its generated module (``static/js/event-types.js``,
written by ``python -m aiclone.dashboard.event_types``) and the TypeScript client from the API
document; a test fails when any copy drifts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import msgspec


class EventType(StrEnum):
    PROSPECT_ADDED = "prospect_added"
    PROSPECT_UPDATED = "prospect_updated"
    RESEARCH_COMPLETED = "research_completed"
    TASK_UPDATE = "task_update"
    TASK_COMPLETED = "task_completed"
    OUTREACH_SENT = "outreach_sent"
    CONTENT_PUBLISHED = "content_published"
    CONTENT_UPDATED = "content_updated"
    OUTREACH_UPDATED = "outreach_updated"
    AUTOMATION_TRIGGERED = "automation_triggered"
    ACTIVITY = "activity"
    NOTIFICATION = "notification"


EVENT_TYPES: frozenset[str] = frozenset(t.value for t in EventType)

# The events an automation may react to, in the order the API document lists them.
# ``automation_triggered`` is left out (automations do not react to automations), and so are
# ``activity`` and ``notification``: they are derived from the domain events, which are the ones
# to react to.
AUTOMATION_TRIGGERS: tuple[EventType, ...] = (
    EventType.PROSPECT_ADDED,
    EventType.PROSPECT_UPDATED,
    EventType.RESEARCH_COMPLETED,
    EventType.TASK_UPDATE,
    EventType.TASK_COMPLETED,
    EventType.OUTREACH_SENT,
    EventType.OUTREACH_UPDATED,
    EventType.CONTENT_PUBLISHED,
    EventType.CONTENT_UPDATED,
)

# What each event type means; the API document, ``GET /api/event-types`` and the SDK's typed
# payloads say this to integrators.
EVENT_DESCRIPTIONS: dict[str, str] = {
    EventType.PROSPECT_ADDED: "A prospect was created (alone or in a bulk import); carries the new prospect.",
    EventType.PROSPECT_UPDATED: "A prospect changed: edited, approved or rejected, or a meeting was booked.",
    EventType.RESEARCH_COMPLETED: "A research task finished with an insight.",
    EventType.TASK_UPDATE: (
        "A research task changed state (queued, running, done, failed, cancelled); live progress ticks"
        " of a running task have the same shape with `ephemeral: true` and are never stored."
    ),
    EventType.TASK_COMPLETED: "A research task reached done, failed or cancelled.",
    EventType.OUTREACH_SENT: "An outreach message was sent.",
    EventType.CONTENT_PUBLISHED: "A content item was published; carries the item.",
    EventType.CONTENT_UPDATED: "A content item was created, edited or deleted.",
    EventType.OUTREACH_UPDATED: "An outreach message was created, edited or deleted.",
    EventType.AUTOMATION_TRIGGERED: "An automation ran its action, on an event or by hand.",
    EventType.ACTIVITY: "An entry was added to the activity feed.",
    EventType.NOTIFICATION: "A notification was created, or some were marked read; carries the unread count.",
}


class EventRecord(msgspec.Struct, frozen=True, gc=False):
    """One committed event. ``seq`` is the user's gapless, commit-ordered sequence number.

    Not tracked by the cyclic garbage collector (``gc=False``): an event refers to nothing that
    could refer back to it, so reference counting frees it, and a broadcast that holds 15,000 of
    them no longer brings forward full collections of the whole heap (bench/README.md,
    "Broadcast"). Its ``data`` dict is still tracked, as every dict is.
    """

    user_id: uuid.UUID
    seq: int
    type: str
    data: dict[str, Any]
    created_at: dt.datetime
    # True for events caused by an automation; automations never react to these (no loops).
    by_automation: bool = False


class Ephemeral(msgspec.Struct, frozen=True):
    """A live-only message (progress ticks): never stored, carries no seq."""

    user_id: uuid.UUID
    type: str
    data: dict[str, Any]
