from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, UUIDPrimaryKey, utcnow
from aiclone.events.models import JSONType


class Notification(UUIDPrimaryKey, OwnedByUser, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000), default="")
    level: Mapped[str] = mapped_column(String(16), default="info")
    link: Mapped[str | None] = mapped_column(String(2048), default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    read_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
