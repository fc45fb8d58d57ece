"""API contract of research tasks, the insight a run produces, and the payloads of its events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from aiclone.events.types import EventType
from aiclone.research.models import Priority, SourceType, TaskStatus

MAX_INPUT_SOURCE_LENGTH = 10_000

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="A short name for the task.")]
InputSource = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_INPUT_SOURCE_LENGTH,
        description=(
            "What to research: URLs (separated by white space, commas or new lines) for `urls`,"
            " search terms for `keywords`, or free profile text for `profile`."
        ),
    ),
]
EngineName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="The research engine to run (`web` is built in). Unknown engines fail when run.",
    ),
]


class SourceReport(msgspec.Struct, kw_only=True):
    """What one input URL gave: per-URL status and the facts extracted from the page."""

    url: str
    status: Literal["ok", "failed"]
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    title: str | None = None
    description: str | None = None
    headings: list[str] = msgspec.field(default_factory=list)
    emails: list[str] = msgspec.field(default_factory=list)
    outbound_links: list[str] = msgspec.field(default_factory=list)
    key_phrases: list[str] = msgspec.field(default_factory=list)
    error: str | None = None


class Insight(msgspec.Struct, kw_only=True):
    summary: str
    key_findings: list[str] = msgspec.field(default_factory=list)
    pain_points: list[str] = msgspec.field(default_factory=list)
    opportunities: list[str] = msgspec.field(default_factory=list)
    suggested_outreach: str | None = None
    sources: list[SourceReport] = msgspec.field(default_factory=list)


class ResearchTaskCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title
    input_source: InputSource
    source_type: SourceType
    engine: EngineName = "web"
    priority: Priority = Priority.MEDIUM
    prospect_id: uuid.UUID | None = None


class ResearchTaskRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    input_source: str
    source_type: SourceType
    engine: str
    priority: Priority
    prospect_id: uuid.UUID | None
    status: TaskStatus
    progress: Annotated[int, msgspec.Meta(ge=0, le=100)]
    attempts: int
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    error: str | None
    insight: Insight | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ResearchTaskPage(msgspec.Struct):
    items: list[ResearchTaskRead]
    next_cursor: str | None = None


# Event payloads (``data`` of the events table rows and of the live stream).


class TaskUpdateData(msgspec.Struct, kw_only=True):
    """``task_update``: a persisted state change (or, with ``ephemeral``, a live progress tick)."""

    task_id: uuid.UUID
    status: TaskStatus
    progress: int
    error: str | None = None
    title: str
    engine: str
    attempts: int
    detail: str | None = None
    ephemeral: bool = False


class TaskCompletedData(msgspec.Struct, kw_only=True):
    """``task_completed``: the task reached done, failed or cancelled."""

    task_id: uuid.UUID
    status: TaskStatus
    title: str
    error: str | None = None
    completed_at: dt.datetime


class ResearchCompletedData(msgspec.Struct, kw_only=True):
    """``research_completed``: a task finished with an insight."""

    task_id: uuid.UUID
    title: str
    prospect_id: uuid.UUID | None
    insight: Insight


EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    EventType.TASK_UPDATE.value: TaskUpdateData,
    EventType.TASK_COMPLETED.value: TaskCompletedData,
    EventType.RESEARCH_COMPLETED.value: ResearchCompletedData,
}
