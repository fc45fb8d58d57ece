from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, utcnow

# JSONB on PostgreSQL, JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Event(Base):
    """The durable record of a change, written in the change's own transaction."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("user_id", "seq", name="uq_events_user_id_seq"),
        Index("ix_events_created_at", "created_at"),
    )

    # A global id only for storage; consumers order and resume by (user_id, seq).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    by_automation: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventCounter(Base):
    """The last seq handed out per user, and the version of what the user's events react to.

    Incrementing this row takes a row lock held until commit, so two transactions of one user
    are numbered in the order they commit, and pruning old events never lets a seq be reused.
    ``config_version`` goes up with every change to the user's automation rules and webhook
    endpoints (:mod:`aiclone.events.config`).
    """

    __tablename__ = "event_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    config_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
