"""API contract of research tasks, the insight a run produces, and the payloads of its events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from aiclone.events.types import EventType
from aiclone.research.models import Priority, SourceType, TaskKind, TaskStatus

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
        description=(
            "The research engine to run: `web` (reads pages) or `llm` (a language model writes the"
            " insight; see `GET /api/research/engines`). An engine that is unavailable is refused"
            " with 422; unknown engines fail when run."
        ),
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


class Claim(msgspec.Struct, kw_only=True):
    """One statement of a model-written insight and the fetched page it came from."""

    kind: Literal["finding", "pain_point", "opportunity"]
    text: str
    source_url: str


class InsightUsage(msgspec.Struct, kw_only=True):
    """Tokens the language model read and wrote for this insight (repair attempt included)."""

    model: str
    input_tokens: int
    output_tokens: int
    # The provider reported no usage; these are characters / 4.
    estimated: bool = False
    calls: int = 1


class Insight(msgspec.Struct, kw_only=True):
    summary: str
    key_findings: list[str] = msgspec.field(default_factory=list)
    pain_points: list[str] = msgspec.field(default_factory=list)
    opportunities: list[str] = msgspec.field(default_factory=list)
    suggested_outreach: str | None = None
    sources: list[SourceReport] = msgspec.field(default_factory=list)
    # Written by the llm engine only (absent from web-engine insights).
    fit_score: Annotated[int, msgspec.Meta(ge=0, le=100)] | UnsetType = UNSET
    fit_rationale: str | UnsetType = UNSET
    claims: list[Claim] | UnsetType = UNSET
    usage: InsightUsage | UnsetType = UNSET
    # Claims the model attributed to a URL that was not read, left out of the insight.
    dropped_claims: int | UnsetType = UNSET


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
    # ``research``, or a drafting kind (``outreach_draft``, ``content_draft``; see /api/outreach/generate).
    kind: TaskKind = TaskKind.RESEARCH
    # A drafting task's request; null for research.
    params: dict[str, Any] | None = None
    # The outreach message or content item a finished drafting task wrote.
    output_id: uuid.UUID | None = None
    # Language-model tokens spent (prompt and completion), all attempts together.
    tokens_in: int = 0
    tokens_out: int = 0


class ResearchEngineRead(msgspec.Struct, kw_only=True):
    name: str
    available: bool
    # Why tasks asking for this engine are refused now (null when available).
    reason: str | None = None
    # For engines that call a provider: its circuit breaker ("closed", "open", "half-open").
    provider_state: str | None = None


class ResearchEngineList(msgspec.Struct):
    items: list[ResearchEngineRead]


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
    kind: TaskKind = TaskKind.RESEARCH
    # Live ticks of an engine that writes (the llm engine): the text written so far, or its
    # end when it is too long for one message, ``text_offset`` characters being left out before it.
    text: str | UnsetType = UNSET
    text_offset: int | UnsetType = UNSET


class TaskCompletedData(msgspec.Struct, kw_only=True):
    """``task_completed``: the task reached done, failed or cancelled."""

    task_id: uuid.UUID
    status: TaskStatus
    title: str
    error: str | None = None
    completed_at: dt.datetime
    kind: TaskKind = TaskKind.RESEARCH
    # The draft a drafting task wrote (an outreach message or a content item).
    output_id: uuid.UUID | None = None
    tokens_in: int = 0
    tokens_out: int = 0


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
