"""Turning tasks into API objects, and writing a state change's events beside it.

:func:`enqueue` is how a task comes into being — through the API, a drafting request or an
automation — so each new task is queued the same way and announces itself with the same
``task_update`` (the research worker wakes on it after commit).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.research.models import PRIORITY_RANK, Priority, ResearchTask, SourceType, TaskKind, TaskStatus
from aiclone.research.repository import ResearchTaskRepository
from aiclone.research.schemas import (
    Insight,
    ResearchCompletedData,
    ResearchTaskRead,
    TaskCompletedData,
    TaskUpdateData,
)


def task_kind(task: ResearchTask) -> TaskKind:
    # A task not flushed yet has no column default applied: it is research unless told otherwise.
    return TaskKind(task.kind or TaskKind.RESEARCH.value)


def to_read(task: ResearchTask) -> ResearchTaskRead:
    return ResearchTaskRead(
        id=task.id,
        user_id=task.user_id,
        title=task.title,
        input_source=task.input_source,
        source_type=SourceType(task.source_type),
        engine=task.engine,
        priority=Priority(task.priority),
        prospect_id=task.prospect_id,
        status=TaskStatus(task.status),
        progress=task.progress,
        attempts=task.attempts,
        started_at=task.started_at,
        completed_at=task.completed_at,
        error=task.error,
        insight=None if task.insight is None else msgspec.convert(task.insight, Insight),
        created_at=task.created_at,
        updated_at=task.updated_at,
        kind=task_kind(task),
        params=task.params,
        output_id=task.output_id,
        tokens_in=task.tokens_in or 0,
        tokens_out=task.tokens_out or 0,
    )


async def enqueue(
    events: EventLog,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    title: str,
    input_source: str,
    source_type: SourceType,
    engine: str,
    priority: Priority,
    prospect_id: uuid.UUID | None,
    kind: TaskKind = TaskKind.RESEARCH,
    params: dict[str, Any] | None = None,
    detail: str | None = None,
    by_automation: bool = False,
) -> ResearchTask:
    """Queue a new task and write its queued state's events, in the caller's transaction.

    The caller has checked the input, the budget and that ``prospect_id`` is the user's.
    """
    task = await ResearchTaskRepository(session).add(
        ResearchTask(
            user_id=user_id,
            title=title,
            input_source=input_source,
            source_type=source_type.value,
            engine=engine,
            priority=priority.value,
            priority_rank=PRIORITY_RANK[priority],
            prospect_id=prospect_id,
            status=TaskStatus.QUEUED.value,
            progress=0,
            attempts=0,
            interruptions=0,
            kind=kind.value,
            params=params,
        )
    )
    await record_state(events, session, task, detail=detail, by_automation=by_automation)
    return task


async def record_state(
    events: EventLog,
    session: AsyncSession,
    task: ResearchTask,
    *,
    detail: str | None = None,
    by_automation: bool = False,
) -> None:
    """Write the events of the state ``task`` was just given, in the caller's transaction.

    ``by_automation`` marks a state an automation caused (the queued state of a task it created).
    """
    for type_, data in _state_events(task, detail=detail):
        await events.record(session, user_id=task.user_id, type=type_, data=data, by_automation=by_automation)


def _state_events(task: ResearchTask, *, detail: str | None = None) -> list[tuple[EventType, msgspec.Struct]]:
    """Always ``task_update``; on a terminal state also ``task_completed``; on ``done`` also
    ``research_completed`` carrying the insight."""
    status = TaskStatus(task.status)
    update = TaskUpdateData(
        task_id=task.id,
        status=status,
        progress=task.progress,
        error=task.error,
        title=task.title,
        engine=task.engine,
        attempts=task.attempts,
        detail=detail,
        kind=task_kind(task),
    )
    found: list[tuple[EventType, msgspec.Struct]] = [(EventType.TASK_UPDATE, update)]
    if status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return found
    completed = TaskCompletedData(
        task_id=task.id,
        status=status,
        title=task.title,
        error=task.error,
        completed_at=task.completed_at or utcnow(),
        kind=task_kind(task),
        output_id=task.output_id,
        tokens_in=task.tokens_in or 0,
        tokens_out=task.tokens_out or 0,
    )
    found.append((EventType.TASK_COMPLETED, completed))
    if status == TaskStatus.DONE and task.insight is not None:
        insight = msgspec.convert(task.insight, Insight)
        research = ResearchCompletedData(
            task_id=task.id, title=task.title, prospect_id=task.prospect_id, insight=insight
        )
        found.append((EventType.RESEARCH_COMPLETED, research))
    return found
