"""The outreach API contract and the payload of ``outreach_sent``.

``OutreachRead`` fields are in the repository's column order (rows become structs positionally).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from aiclone.events.types import EventType
from aiclone.prospects.schemas import ProspectRead

ChannelName = Literal["email", "linkedin", "other"]
StatusName = Literal["draft", "sent"]
Subject = Annotated[str, msgspec.Meta(max_length=300)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class OutreachCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    prospect_id: uuid.UUID
    channel: ChannelName = "email"
    subject: Subject | None = None
    body: Body


class OutreachUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Drafts only; the fields present change, ``null`` clears the subject."""

    channel: ChannelName | UnsetType = UNSET
    subject: Subject | UnsetType | None = UNSET
    body: Body | UnsetType = UNSET


class OutreachRead(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    prospect_id: uuid.UUID
    channel: str
    subject: str | None
    body: str
    status: str
    sent_at: dt.datetime | None
    meeting_booked: bool
    meeting_booked_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class OutreachPage(msgspec.Struct):
    items: list[OutreachRead]
    next_cursor: str | None = None


class OutreachSentData(OutreachRead, kw_only=True):
    """``outreach_sent``: the message as sent and its prospect with the counters it moved."""

    prospect: ProspectRead


class OutreachUpdatedData(OutreachRead, kw_only=True):
    """``outreach_updated``: a draft as it now is (as it was, for ``deleted``).

    ``changes`` names the fields an edit changed (empty for ``created`` and ``deleted``).
    """

    action: Literal["created", "updated", "deleted"]
    changes: list[str]


EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    EventType.OUTREACH_SENT.value: OutreachSentData,
    EventType.OUTREACH_UPDATED.value: OutreachUpdatedData,
}
