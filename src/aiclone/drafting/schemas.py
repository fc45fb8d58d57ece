"""The drafting API contract: what to write, for whom, in which tone and length."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from aiclone.content.schemas import ContentChannel
from aiclone.outreach.schemas import ChannelName

Tone = Literal["professional", "friendly", "casual", "formal", "enthusiastic"]
Length = Literal["short", "medium", "long"]
Topic = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=500, description="What the piece is about (sent to the model as data)."
    ),
]


class OutreachGenerate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    prospect_id: uuid.UUID
    channel: ChannelName = "email"
    tone: Tone = "professional"
    length: Length = "medium"


class ContentGenerate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    topic: Topic
    # The content channel the piece is written for (a LinkedIn post, a blog article…).
    format: ContentChannel = "linkedin"
    tone: Tone = "professional"
    length: Length = "medium"
