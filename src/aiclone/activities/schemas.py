from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from aiclone.events.types import EventType


class ActivityRead(msgspec.Struct):
    id: uuid.UUID
    type: str
    title: str
    message: str
    link: str | None
    metadata: dict[str, Any]
    source_seq: int | None
    created_at: dt.datetime


class ActivityPage(msgspec.Struct):
    items: list[ActivityRead]
    next_cursor: str | None = None


# An activity event carries the feed entry it added.
EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {EventType.ACTIVITY.value: ActivityRead}
