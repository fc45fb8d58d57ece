from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, Timestamps, UUIDPrimaryKey
from aiclone.events.models import JSONType


class Automation(UUIDPrimaryKey, Timestamps, Base):
    """A rule: when an event of ``trigger_event`` matches ``conditions``, run ``action``.

    ``conditions`` and ``action`` hold the validated API structs as JSON. The run columns are
    bookkeeping written by the runs themselves: ``run_count``/``last_run_at`` for successes,
    ``failure_count``/``last_error``/``last_failed_at`` for failures.
    """

    __tablename__ = "automations"
    __table_args__ = (
        # The event hook's one query per event: the enabled rules of (user, event type).
        Index("ix_automations_user_id_trigger_event_enabled", "user_id", "trigger_event", "enabled"),
        Index("ix_automations_user_id_created_at_id", "user_id", "created_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger_event: Mapped[str] = mapped_column(String(64))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    action: Mapped[dict[str, Any]] = mapped_column(JSONType)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
