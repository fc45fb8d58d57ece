from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from aiclone.events.types import EventType

Level = Literal["info", "success", "warning", "error"]


class NotificationRead(msgspec.Struct):
    id: uuid.UUID
    title: str
    body: str
    level: Level
    link: str | None
    data: dict[str, Any] | None
    read: bool
    created_at: dt.datetime


class NotificationPage(msgspec.Struct):
    items: list[NotificationRead]
    next_cursor: str | None = None


class UnreadCount(msgspec.Struct):
    unread: int


class MarkRead(msgspec.Struct, forbid_unknown_fields=True):
    """Which notifications to mark read: the given ids, or all of them."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] = []
    all: bool = False


class MarkedRead(msgspec.Struct):
    marked: int
    unread: int


class NotificationEvent(msgspec.Struct, omit_defaults=True):
    """Data of a ``notification`` event: one was created, or some were read."""

    action: Literal["created", "read"]
    unread: int
    notification: NotificationRead | None = None
    ids: list[uuid.UUID] | None = None


EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {EventType.NOTIFICATION.value: NotificationEvent}
