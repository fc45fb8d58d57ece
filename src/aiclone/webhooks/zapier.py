"""Zapier REST hooks: the triggers we offer, and the one shape of a trigger's item.

A Zapier trigger shows the fields of one flat JSON object, and de-duplicates items by their
``id``. So the body POSTed to a subscription's target URL and every item of the polling endpoint
(``GET /api/hooks/events``, which the Zapier app's ``performList`` calls for samples) are built
by :func:`trigger_item` from the same event, and are equal field for field:

* ``id`` — ``evt_<seq>``: the event's per-user sequence number, unique for the user, so Zapier
  never runs a Zap twice for one event (and a test item is ``evt_test_<hex>``);
* ``seq`` — that number; ``type`` — the event type; ``occurred_at`` — when it was recorded (ISO
  8601 UTC);
* then the resource's fields as the event carries them, the resource's own id renamed to
  ``<resource>_id`` (``prospect_id``, ``outreach_id``…) and ``user_id`` left out. Nested objects
  (a research insight, the prospect of a sent message) stay objects: Zapier shows them as
  ``Insight Summary`` and so on.

Zapier does not verify signatures, and the subscription's secret is never shown to anyone, so the
requests to a Zapier target carry only ``webhook-id`` (for de-duplication), not the signature
headers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from aiclone.events.types import EventType


class Trigger(msgspec.Struct, frozen=True):
    event: str
    label: str
    noun: str
    description: str


TRIGGERS: tuple[Trigger, ...] = (
    Trigger(EventType.PROSPECT_ADDED.value, "New Prospect", "Prospect", "Triggers when a prospect is added."),
    Trigger(
        EventType.PROSPECT_UPDATED.value,
        "Prospect Updated",
        "Prospect",
        "Triggers when a prospect changes: approved or rejected (status change), edited, a draft or meeting"
        " recorded, or deleted. `reason` and `changes` say what happened.",
    ),
    Trigger(
        EventType.RESEARCH_COMPLETED.value,
        "Research Completed",
        "Research",
        "Triggers when a research task finishes with an insight.",
    ),
    Trigger(
        EventType.OUTREACH_SENT.value,
        "Outreach Sent",
        "Outreach",
        "Triggers when an outreach message is sent.",
    ),
    Trigger(
        EventType.CONTENT_PUBLISHED.value,
        "Content Published",
        "Content",
        "Triggers when a content item is published.",
    ),
    Trigger(
        EventType.AUTOMATION_TRIGGERED.value,
        "Automation Triggered",
        "Automation",
        "Triggers when one of your automations runs its action.",
    ),
)
TRIGGER_EVENTS: frozenset[str] = frozenset(t.event for t in TRIGGERS)

# What the event's "id" field identifies, per type.
_RESOURCE = {
    EventType.PROSPECT_ADDED.value: "prospect",
    EventType.PROSPECT_UPDATED.value: "prospect",
    EventType.OUTREACH_SENT.value: "outreach",
    EventType.OUTREACH_UPDATED.value: "outreach",
    EventType.CONTENT_PUBLISHED.value: "content",
    EventType.CONTENT_UPDATED.value: "content",
    EventType.TASK_UPDATE.value: "task",
    EventType.TASK_COMPLETED.value: "task",
}
_ENVELOPE = ("id", "seq", "type", "occurred_at")


def item_id(seq: int | None, test_id: str = "") -> str:
    return f"evt_{seq}" if seq is not None else f"evt_test_{test_id}"


def trigger_item(
    event_type: str, seq: int | None, occurred_at: dt.datetime, data: dict[str, Any], *, test_id: str = ""
) -> dict[str, Any]:
    """The flat object a Zapier trigger receives for one event (hook body and polling item alike)."""
    resource = _RESOURCE.get(event_type, "resource")
    item: dict[str, Any] = {
        "id": item_id(seq, test_id),
        "seq": seq,
        "type": event_type,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    for key, value in data.items():
        if key == "user_id":
            continue
        name = key
        if key == "id":
            name = f"{resource}_id"
        elif key in _ENVELOPE:
            name = f"{resource}_{key}"
        if name in item:  # e.g. outreach_updated's own outreach_id: keep the first, name the second
            name = f"data_{name}"
        item[name] = value
    return item


def encode_item(item: dict[str, Any]) -> bytes:
    return msgspec.json.encode(item)
