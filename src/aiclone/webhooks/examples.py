"""Example data for test deliveries: one plausible payload per event type, marked as a test."""

from __future__ import annotations

from typing import Any

from aiclone.events.types import EventType

_EXAMPLE_ID = "00000000-0000-4000-8000-000000000000"

EXAMPLES: dict[str, dict[str, Any]] = {
    EventType.PROSPECT_ADDED: {"id": _EXAMPLE_ID, "name": "Ada Lovelace", "company": "Analytical Engines"},
    EventType.PROSPECT_UPDATED: {
        "id": _EXAMPLE_ID,
        "name": "Ada Lovelace",
        "reason": "edited",
        "changes": ["title"],
    },
    EventType.RESEARCH_COMPLETED: {
        "id": _EXAMPLE_ID,
        "title": "Research Analytical Engines",
        "insight": {"summary": "Expanding into mechanical computation."},
    },
    EventType.TASK_UPDATE: {"id": _EXAMPLE_ID, "status": "running", "progress": 0.5},
    EventType.TASK_COMPLETED: {"id": _EXAMPLE_ID, "title": "Research Analytical Engines", "status": "done"},
    EventType.OUTREACH_SENT: {"id": _EXAMPLE_ID, "channel": "email", "subject": "Hello from aiclone"},
    EventType.CONTENT_PUBLISHED: {"id": _EXAMPLE_ID, "title": "Ten lessons from the Difference Engine"},
    EventType.CONTENT_UPDATED: {
        "id": _EXAMPLE_ID,
        "title": "Ten lessons from the Difference Engine",
        "action": "updated",
        "changes": ["body"],
    },
    EventType.OUTREACH_UPDATED: {
        "id": _EXAMPLE_ID,
        "subject": "Hello from aiclone",
        "action": "created",
        "changes": [],
    },
    EventType.AUTOMATION_TRIGGERED: {
        "automation_id": _EXAMPLE_ID,
        "automation_name": "Tag strong fits",
        "action": "tag_prospect",
        "summary": "Tagged Ada Lovelace: +hot",
        "trigger_event": "prospect_added",
        "trigger_seq": 42,
        "manual": False,
        "result": {"prospect_id": _EXAMPLE_ID, "added": ["hot"], "removed": []},
    },
    EventType.ACTIVITY: {
        "id": _EXAMPLE_ID,
        "type": "prospect_added",
        "title": "Prospect added: Ada Lovelace",
    },
    EventType.NOTIFICATION: {"action": "created", "unread": 1},
}


def example_data(event_type: str) -> dict[str, Any]:
    return {**EXAMPLES.get(event_type, {}), "test": True}
