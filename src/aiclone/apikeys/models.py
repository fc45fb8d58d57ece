from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, UUIDPrimaryKey, utcnow

NAME_MAX_LENGTH = 100
SCOPES_MAX_LENGTH = 500


class ApiKey(UUIDPrimaryKey, Base):
    """A machine credential of one user, with the scopes it was given.

    The key itself is never stored: ``public_id`` is the part of it that finds the row, and
    ``secret_hash`` the SHA-256 of its secret part (see :mod:`aiclone.auth.keytext`).
    ``scopes`` are space-separated, sorted. A revoked key keeps its row (``revoked_at``) for the
    record, and is listed nowhere; the user's erasure deletes it with the rest.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(SCOPES_MAX_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_ip: Mapped[str | None] = mapped_column(String(64), default=None)
