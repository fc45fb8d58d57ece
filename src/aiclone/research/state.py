"""Turning tasks into API objects, and writing a state change's events beside it."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.research.models import Priority, ResearchTask, SourceType, TaskKind, TaskStatus
from aiclone.research.schemas import (
    Insight,
    ResearchCompletedData,
    ResearchTaskRead,
    TaskCompletedData,
    TaskUpdateData,
)


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
        kind=TaskKind(task.kind or TaskKind.RESEARCH.value),
        params=task.params,
        output_id=task.output_id,
        tokens_in=task.tokens_in or 0,
        tokens_out=task.tokens_out or 0,
    )


async def record_state(
    events: EventLog,
    session: AsyncSession,
    task: ResearchTask,
    *,
    detail: str | None = None,
    by_automation: bool = False,
) -> None:
    """Write the events of the state ``task`` was just given, in the caller's transaction.

    Always ``task_update``; on a terminal state also ``task_completed``; on ``done`` also
    ``research_completed`` carrying the insight. ``by_automation`` marks a state an automation
    caused (the queued state of a task it created).
    """
    status = TaskStatus(task.status)
    await events.record(
        session,
        user_id=task.user_id,
        type=EventType.TASK_UPDATE,
        data=TaskUpdateData(
            task_id=task.id,
            status=status,
            progress=task.progress,
            error=task.error,
            title=task.title,
            engine=task.engine,
            attempts=task.attempts,
            detail=detail,
            kind=TaskKind(task.kind or TaskKind.RESEARCH.value),
        ),
        by_automation=by_automation,
    )
    if status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return
    await events.record(
        session,
        user_id=task.user_id,
        type=EventType.TASK_COMPLETED,
        data=TaskCompletedData(
            task_id=task.id,
            status=status,
            title=task.title,
            error=task.error,
            completed_at=task.completed_at or utcnow(),
            kind=TaskKind(task.kind or TaskKind.RESEARCH.value),
            output_id=task.output_id,
            tokens_in=task.tokens_in or 0,
            tokens_out=task.tokens_out or 0,
        ),
    )
    if status == TaskStatus.DONE and task.insight is not None:
        await events.record(
            session,
            user_id=task.user_id,
            type=EventType.RESEARCH_COMPLETED,
            data=ResearchCompletedData(
                task_id=task.id,
                title=task.title,
                prospect_id=task.prospect_id,
                insight=msgspec.convert(task.insight, Insight),
            ),
        )
