from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, UUIDPrimaryKey, utcnow


class StreamTicket(UUIDPrimaryKey, Base):
    """A single-use credential for opening one event stream from a URL.

    Only the SHA-256 of the ticket is stored, so any instance can redeem it and nobody can read
    it back. ``session_expires_at`` is the expiry of the access token that asked for it: a stream
    opened with the ticket ends then, as it would have with the token itself.
    """

    __tablename__ = "stream_tickets"
    __table_args__ = (Index("ix_stream_tickets_expires_at", "expires_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    session_expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The API key that asked for the ticket, if one did: its stream ends when the key is revoked.
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), default=None
    )


class StreamInstance(Base):
    """One serving process that holds event streams, alive while its heartbeat is fresh."""

    __tablename__ = "stream_instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class StreamPresence(Base):
    """How many streams one instance holds open for one user (rows only for non-zero counts)."""

    __tablename__ = "stream_presence"
    __table_args__ = (Index("ix_stream_presence_user_id", "user_id"),)

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("stream_instances.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    streams: Mapped[int] = mapped_column(Integer)
