from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, Timestamps, UUIDPrimaryKey
from aiclone.events.models import JSONType


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Prospect(UUIDPrimaryKey, Timestamps, Base):
    """A person a user may reach out to, with their scoring and outreach counters."""

    __tablename__ = "prospects"
    __table_args__ = (
        # Emails are unique per user whatever their case: the service stores the lower-cased
        # address here, and this index (not a prior SELECT) is what settles two racing inserts.
        # Rows without an email have NULL here, which unique indexes never compare as equal.
        UniqueConstraint("user_id", "email_normalized", name="uq_prospects_user_id_email_normalized"),
        # One index per sort key; each list query is a range scan on one of them.
        Index("ix_prospects_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_prospects_user_id_fit_score_id", "user_id", "fit_score", "id"),
        Index("ix_prospects_user_id_name_id", "user_id", "name", "id"),
        CheckConstraint("approval_status IN ('pending', 'approved', 'rejected')", name="approval_status"),
        CheckConstraint(
            "fit_score BETWEEN 0 AND 100 AND referral_capacity BETWEEN 0 AND 100"
            " AND signal_strength BETWEEN 0 AND 100",
            name="scores",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_normalized: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    job_title: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2048))
    linkedin: Mapped[str | None] = mapped_column(String(2048))
    discovery_source: Mapped[str | None] = mapped_column(String(100))
    approval_status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.PENDING.value)
    fit_score: Mapped[int] = mapped_column(Integer, default=0)
    referral_capacity: Mapped[int] = mapped_column(Integer, default=0)
    signal_strength: Mapped[int] = mapped_column(Integer, default=0)
    best_outreach_angle: Mapped[str | None] = mapped_column(Text)
    scoring_reasoning: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    drafts_generated: Mapped[int] = mapped_column(Integer, default=0)
    emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    meetings_booked: Mapped[int] = mapped_column(Integer, default=0)
    last_contacted: Mapped[dt.datetime | None]
