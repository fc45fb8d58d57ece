from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, Timestamps, UUIDPrimaryKey
from aiclone.events.models import JSONType


class ContentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ContentItem(UUIDPrimaryKey, OwnedByUser, Timestamps, Base):
    """A piece of content (a post, an article): a draft until published."""

    __tablename__ = "content_items"
    __table_args__ = (
        Index("ix_content_items_user_id_created_at_id", "user_id", "created_at", "id"),
        CheckConstraint(
            "channel IN ('linkedin', 'twitter', 'blog', 'newsletter', 'email', 'other')", name="channel"
        ),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
    )

    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ContentStatus.DRAFT.value)
    published_at: Mapped[dt.datetime | None]
