"""The event types of the backbone and the envelope every consumer sees."""

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


class EventRecord(msgspec.Struct, frozen=True):
    """One committed event. ``seq`` is the user's gapless, commit-ordered sequence number."""

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
