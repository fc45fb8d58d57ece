from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, Timestamps, UUIDPrimaryKey
from aiclone.events.models import JSONType


class SourceType(StrEnum):
    KEYWORDS = "keywords"
    URLS = "urls"
    PROFILE = "profile"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Claim order: lower rank first. Stored beside the name so the claim query can use an index.
PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    """What a task produces: research gives an insight, a drafting task writes an outreach draft
    or a content item (see :mod:`aiclone.drafting`). All kinds share the queue and the runner."""

    RESEARCH = "research"
    OUTREACH_DRAFT = "outreach_draft"
    CONTENT_DRAFT = "content_draft"


DRAFT_KINDS = frozenset({TaskKind.OUTREACH_DRAFT, TaskKind.CONTENT_DRAFT})


TERMINAL_STATUSES = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED})


class ResearchTask(UUIDPrimaryKey, OwnedByUser, Timestamps, Base):
    """One research request and its run state.

    While ``running``, ``claimed_by`` names the worker process holding the task and
    ``lease_expires_at`` says until when; a worker renews its lease while it works, so a task
    whose lease ran out belongs to a process that died and is put back in the queue. Every
    write that finishes a run is fenced on (status, claimed_by, attempts), so a worker that lost
    its claim can never overwrite the task.
    """

    __tablename__ = "research_tasks"
    __table_args__ = (
        Index("ix_research_tasks_user_id_created_at", "user_id", "created_at"),
        Index("ix_research_tasks_claim_order", "status", "priority_rank", "created_at"),
        Index("ix_research_tasks_status_lease_expires_at", "status", "lease_expires_at"),
    )

    title: Mapped[str] = mapped_column(String(200))
    input_source: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))
    priority_rank: Mapped[int] = mapped_column(SmallInteger)
    # The prospect this research is about. No foreign key yet: the prospects table lives in
    # another package; ownership is checked by the service when it exists.
    prospect_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prospects.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.QUEUED.value)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Runs started (claims), and lease expiries since the last retry (a poison-task stop).
    attempts: Mapped[int] = mapped_column(default=0)
    interruptions: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    insight: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(16), default=TaskKind.RESEARCH.value, server_default="research")
    # A drafting task's request (channel, tone, length, topic…); null for research.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    # What a finished drafting task wrote (an outreach message or a content item). No foreign
    # key: the draft may be deleted by its owner afterwards and the task stays as a record.
    output_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Language-model tokens this task spent, all attempts together (aiclone.research.usage).
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
