"""How domain events become lines of the activity feed.

:class:`ActivityFeedHook` runs inside the event's transaction: for each event worth showing it
writes an ``activities`` row and records an ``activity`` event (which live streams show as the
feed). Events that are themselves feed or bookkeeping traffic (``activity``, ``notification``,
intermediate ``task_update``) are skipped, so the hook never feeds on its own output.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.activities.models import Activity
from aiclone.activities.schemas import ActivityRead
from aiclone.events.log import CompanionRow, EventLog
from aiclone.events.types import EventRecord, EventType

_SKIPPED = {EventType.ACTIVITY.value, EventType.NOTIFICATION.value, EventType.TASK_UPDATE.value}
_TASK_EVENTS = {EventType.TASK_COMPLETED.value, EventType.RESEARCH_COMPLETED.value}


def _text(data: dict[str, Any], *keys: str, default: str = "") -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return default


def describe(event: EventRecord) -> tuple[str, str, str | None] | None:  # noqa: PLR0911 - one branch per type
    """Title, message and link for an event, or None when it does not belong in the feed."""
    data = event.data
    kind = event.type
    if kind in _SKIPPED:
        return None
    # Research events name their task as task_id; the others carry their object's id.
    ident = data.get("task_id") if kind in _TASK_EVENTS else data.get("id")
    if kind == EventType.PROSPECT_ADDED:
        name = _text(data, "name", default="A prospect")
        company = _text(data, "company")
        return f"Prospect added: {name}", (f"{name} at {company}" if company else name), f"/prospects/{ident}"
    if kind == EventType.PROSPECT_UPDATED:
        name = _text(data, "name", default="A prospect")
        reason = _text(data, "reason", default="edited").replace("_", " ")
        return (
            f"Prospect {reason}: {name}",
            ", ".join(map(str, data.get("changes") or [])),
            f"/prospects/{ident}",
        )
    if kind == EventType.TASK_COMPLETED:
        title = _text(data, "title", default="Research task")
        status = _text(data, "status", default="finished")
        # Drafting tasks share the runner and its events (aiclone.drafting).
        noun = "Research" if data.get("kind", "research") == "research" else "Draft"
        return f"{noun} {status}: {title}", _text(data, "error"), f"/research-tasks/{ident}"
    if kind == EventType.RESEARCH_COMPLETED:
        title = _text(data, "title", default="Research task")
        insight = data.get("insight")
        summary = _text(insight, "summary") if isinstance(insight, dict) else ""
        return f"Research insight ready: {title}", summary, f"/research-tasks/{ident}"
    if kind == EventType.OUTREACH_SENT:
        subject = _text(data, "subject", default="(no subject)")
        channel = _text(data, "channel", default="email")
        return f"Outreach sent by {channel}", subject, f"/outreach/{ident}"
    if kind == EventType.CONTENT_PUBLISHED:
        return f"Content published: {_text(data, 'title', default='Untitled')}", "", f"/content/{ident}"
    if kind == EventType.CONTENT_UPDATED:
        action = _text(data, "action", default="updated")
        title = _text(data, "title", default="Untitled")
        link = None if action == "deleted" else f"/content/{ident}"
        return f"Content draft {action}: {title}", ", ".join(map(str, data.get("changes") or [])), link
    if kind == EventType.OUTREACH_UPDATED:
        action = _text(data, "action", default="updated")
        subject = _text(data, "subject", default="(no subject)")
        link = None if action == "deleted" else f"/outreach/{ident}"
        return f"Outreach draft {action}", subject, link
    if kind == EventType.AUTOMATION_TRIGGERED:
        name = _text(data, "automation_name", "name", default="An automation")
        return f"Automation ran: {name}", _text(data, "summary", "action"), None
    return kind.replace("_", " ").capitalize(), "", None


class ActivityFeedHook:
    def __init__(self, events: EventLog) -> None:
        self.events = events

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        described = describe(event)
        if described is None:
            return
        title, message, link = described
        line = ActivityRead(
            id=uuid.uuid4(),
            type=event.type,
            title=title[:300],
            message=message[:2000],
            link=link,
            metadata={"event_type": event.type, "seq": event.seq},
            source_seq=event.seq,
            created_at=event.created_at,
        )
        # The line is written by its activity event's own statement (one round trip for both).
        await self.events.record(
            session,
            user_id=event.user_id,
            type=EventType.ACTIVITY,
            data=line,
            by_automation=event.by_automation,
            along_with=(_FEED_LINE, {**msgspec.structs.asdict(line), "user_id": event.user_id}),
        )


_ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
_FEED_LINE = CompanionRow(
    _ACTIVITIES, ("id", "user_id", "type", "title", "message", "link", "metadata", "source_seq", "created_at")
)


def to_read(row: Activity) -> ActivityRead:
    return ActivityRead(
        id=row.id,
        type=row.type,
        title=row.title,
        message=row.message,
        link=row.link,
        metadata=row.meta,
        source_seq=row.source_seq,
        created_at=row.created_at,
    )
