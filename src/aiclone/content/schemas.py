"""The content API contract; ``content_published`` carries :class:`ContentRead`,
``content_updated`` a :class:`ContentUpdatedData`.

``ContentRead`` fields are in the repository's column order (rows become structs positionally).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from aiclone.events.types import EventType
from aiclone.fields import Tags

ContentChannel = Literal["linkedin", "twitter", "blog", "newsletter", "email", "other"]
ContentStatusName = Literal["draft", "published"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Body = Annotated[str, msgspec.Meta(max_length=50_000)]


class ContentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title
    body: Body = ""
    channel: ContentChannel = "other"
    tags: Tags = msgspec.field(default_factory=list)


class ContentUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Drafts only; the fields present change."""

    title: Title | UnsetType = UNSET
    body: Body | UnsetType = UNSET
    channel: ContentChannel | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


class ContentRead(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    body: str
    channel: str
    tags: list[str]
    status: str
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContentPage(msgspec.Struct):
    items: list[ContentRead]
    next_cursor: str | None = None


ChangeAction = Literal["created", "updated", "deleted"]


class ContentUpdatedData(ContentRead, kw_only=True):
    """``content_updated``: the item as it now is (as it was, for ``deleted``).

    ``changes`` names the fields an update changed (empty for ``created`` and ``deleted``).
    """

    action: ChangeAction
    changes: list[str]


EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    EventType.CONTENT_PUBLISHED.value: ContentRead,
    EventType.CONTENT_UPDATED.value: ContentUpdatedData,
}
