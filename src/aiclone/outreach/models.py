from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, Timestamps, UUIDPrimaryKey


class Channel(StrEnum):
    EMAIL = "email"
    LINKEDIN = "linkedin"
    OTHER = "other"


class OutreachStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"


class OutreachMessage(UUIDPrimaryKey, OwnedByUser, Timestamps, Base):
    """A message to one prospect: a draft until it is recorded as sent."""

    __tablename__ = "outreach_messages"
    __table_args__ = (
        Index("ix_outreach_messages_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_outreach_messages_prospect_id", "prospect_id"),
        CheckConstraint("channel IN ('email', 'linkedin', 'other')", name="channel"),
        CheckConstraint("status IN ('draft', 'sent')", name="status"),
    )

    # A prospect's messages go with it when it is deleted.
    prospect_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutreachStatus.DRAFT.value)
    sent_at: Mapped[dt.datetime | None]
    meeting_booked: Mapped[bool] = mapped_column(default=False)
    meeting_booked_at: Mapped[dt.datetime | None]
