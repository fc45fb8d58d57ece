"""The prospects API contract and the payloads of its events.

``ProspectRead`` fields are listed in the order the repository selects its columns, so rows
become structs positionally (the list endpoint's hot path).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from aiclone.events.types import EventType
from aiclone.fields import ContactEmail, Tags, Url

MAX_BULK_ITEMS = 500

ApprovalStatusName = Literal["pending", "approved", "rejected"]
ProspectSort = Literal["created_at", "fit_score", "name"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Phone = Annotated[
    str,
    msgspec.Meta(
        max_length=40,
        pattern=r"^[0-9+()./ -]*(?:(?:x|ext\.?) ?[0-9]+)?$",
        description="Digits and + ( ) . / - separators, optionally an extension (x123).",
    ),
]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Source = Annotated[str, msgspec.Meta(max_length=100, description="Where the prospect was found.")]
Score = Annotated[int, msgspec.Meta(ge=0, le=100, description="0-100.")]
Angle = Annotated[str, msgspec.Meta(max_length=2000)]
Reasoning = Annotated[str, msgspec.Meta(max_length=5000)]
Notes = Annotated[str, msgspec.Meta(max_length=10_000)]


class ProspectCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    email: ContactEmail | None = None
    phone: Phone | None = None
    job_title: ShortText | None = None
    company: ShortText | None = None
    website: Url | None = None
    linkedin: Annotated[Url, msgspec.Meta(description="A linkedin.com URL.")] | None = None
    discovery_source: Source | None = None
    approval_status: ApprovalStatusName = "pending"
    fit_score: Score = 0
    referral_capacity: Score = 0
    signal_strength: Score = 0
    best_outreach_angle: Angle | None = None
    scoring_reasoning: Reasoning | None = None
    tags: Tags = msgspec.field(default_factory=list)
    notes: Notes | None = None


class ProspectUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change; ``null`` clears an optional field."""

    name: Name | UnsetType = UNSET
    email: ContactEmail | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    job_title: ShortText | UnsetType | None = UNSET
    company: ShortText | UnsetType | None = UNSET
    website: Url | UnsetType | None = UNSET
    linkedin: Url | UnsetType | None = UNSET
    discovery_source: Source | UnsetType | None = UNSET
    approval_status: ApprovalStatusName | UnsetType = UNSET
    fit_score: Score | UnsetType = UNSET
    referral_capacity: Score | UnsetType = UNSET
    signal_strength: Score | UnsetType = UNSET
    best_outreach_angle: Angle | UnsetType | None = UNSET
    scoring_reasoning: Reasoning | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET
    notes: Notes | UnsetType | None = UNSET


class ProspectRead(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    job_title: str | None
    company: str | None
    website: str | None
    linkedin: str | None
    discovery_source: str | None
    approval_status: str
    fit_score: int
    referral_capacity: int
    signal_strength: int
    best_outreach_angle: str | None
    scoring_reasoning: str | None
    tags: list[str]
    notes: str | None
    drafts_generated: int
    emails_sent: int
    meetings_booked: int
    last_contacted: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ProspectPage(msgspec.Struct):
    items: list[ProspectRead]
    next_cursor: str | None = None


class ProspectBulkCreate(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[
        list[ProspectCreate],
        msgspec.Meta(min_length=1, max_length=MAX_BULK_ITEMS, description=f"1-{MAX_BULK_ITEMS} prospects."),
    ]


class ProspectList(msgspec.Struct):
    items: list[ProspectRead]


class ProspectBulkStatus(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_BULK_ITEMS)]
    status: Literal["approved", "rejected"]


class ProspectBulkStatusResult(msgspec.Struct):
    """``unchanged``: already in the requested status; ``not_found``: no such prospect for this user."""

    updated: list[ProspectRead]
    unchanged: list[uuid.UUID]
    not_found: list[uuid.UUID]


class ProspectFilters(msgspec.Struct, frozen=True, kw_only=True):
    status: ApprovalStatusName | None = None
    q: str | None = None
    min_score: int | None = None
    tag: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


# Event payloads ---------------------------------------------------------------------------

UpdateReason = Literal["edited", "approved", "rejected", "draft_created", "meeting_booked", "deleted"]


class ProspectUpdatedData(ProspectRead, kw_only=True):
    """``prospect_updated``: the prospect as it now is (as it was, for ``deleted``).

    ``changes`` names the fields that changed; ``outreach_id`` is set when an outreach message
    caused the change (a draft created for the prospect, a meeting booked from a message).
    """

    changes: list[str]
    reason: UpdateReason
    outreach_id: uuid.UUID | None = None


# prospect_added carries the ProspectRead of the new prospect.
EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    EventType.PROSPECT_ADDED.value: ProspectRead,
    EventType.PROSPECT_UPDATED.value: ProspectUpdatedData,
}
