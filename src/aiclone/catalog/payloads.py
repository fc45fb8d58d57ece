from __future__ import annotations

import msgspec

from aiclone.activities.schemas import EVENT_PAYLOADS as ACTIVITY_EVENTS
from aiclone.automations.schemas import EVENT_PAYLOADS as AUTOMATION_EVENTS
from aiclone.content.schemas import EVENT_PAYLOADS as CONTENT_EVENTS
from aiclone.events.types import EVENT_DESCRIPTIONS, EVENT_TYPES
from aiclone.notifications.schemas import EVENT_PAYLOADS as NOTIFICATION_EVENTS
from aiclone.outreach.schemas import EVENT_PAYLOADS as OUTREACH_EVENTS
from aiclone.prospects.schemas import EVENT_PAYLOADS as PROSPECT_EVENTS
from aiclone.research.schemas import EVENT_PAYLOADS as RESEARCH_EVENTS

EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    **PROSPECT_EVENTS,
    **RESEARCH_EVENTS,
    **OUTREACH_EVENTS,
    **CONTENT_EVENTS,
    **AUTOMATION_EVENTS,
    **ACTIVITY_EVENTS,
    **NOTIFICATION_EVENTS,
}

# Every type the backbone accepts has a payload schema and a description (checked at import, so
# a new event type cannot ship undocumented).
_missing = EVENT_TYPES.symmetric_difference(EVENT_PAYLOADS) | EVENT_TYPES.symmetric_difference(
    EVENT_DESCRIPTIONS
)
if _missing:
    raise RuntimeError(f"event types without a payload schema or description: {sorted(_missing)}")
