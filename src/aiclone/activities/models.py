from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, UUIDPrimaryKey, utcnow
from aiclone.events.models import JSONType


class Activity(UUIDPrimaryKey, OwnedByUser, Base):
    """One line of the user-facing feed, derived from a domain event."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_user_created", "user_id", "created_at", "id"),
        Index("ix_activities_user_type", "user_id", "type"),
    )

    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(String(2000), default="")
    link: Mapped[str | None] = mapped_column(String(2048), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # The seq of the event this line describes.
    source_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
