"""Research tasks as the API sees them: create, read, cancel, retry.

Each state change and its events commit in one transaction (see :mod:`aiclone.research.state`).
Cancelling a running task only changes the row; the runner holding it notices (through the
broker, or its once-a-second check) and stops, and its own final write is fenced so it cannot
overwrite the cancellation.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from aiclone.events.log import EventLog
from aiclone.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from aiclone.prospects.changes import find_prospect
from aiclone.research.engines.base import EngineRegistry, EngineStatus
from aiclone.research.models import Priority, ResearchTask, SourceType, TaskKind, TaskStatus
from aiclone.research.repository import ResearchTaskRepository
from aiclone.research.schemas import (
    MAX_INPUT_SOURCE_LENGTH,
    Insight,
    ResearchTaskCreate,
    ResearchTaskPage,
    ResearchTaskRead,
)
from aiclone.research.sources import split_urls, url_problem
from aiclone.research.state import enqueue, record_state, to_read
from aiclone.research.usage import TokenBudget, uses_llm

_NOT_FOUND = "No such research task."
CANCELLABLE = frozenset({TaskStatus.QUEUED.value, TaskStatus.RUNNING.value})
RETRYABLE = frozenset({TaskStatus.FAILED.value, TaskStatus.CANCELLED.value})


class EngineUnavailable(DomainError):
    """A task asks for an engine this installation has but cannot run (e.g. llm, no provider)."""

    status = 422
    slug = "engine-unavailable"
    title = "Research engine unavailable"


async def _locked_task(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> ResearchTask:
    """The owner's task, locked for this transaction."""
    task = await ResearchTaskRepository(session).get(owner, task_id, lock=True)
    if task is None:
        raise NotFound(_NOT_FOUND)
    return task


class ResearchService:
    def __init__(
        self,
        db: Database,
        events: EventLog,
        *,
        max_urls: int = 20,
        engines: EngineRegistry | None = None,
        budget: TokenBudget | None = None,
    ) -> None:
        self.db = db
        self.events = events
        self.max_urls = max_urls
        self.budget = budget  # None: unlimited
        self.engines = engines or EngineRegistry()

    def engine_statuses(self) -> list[EngineStatus]:
        return self.engines.statuses()

    def _validate(self, data: ResearchTaskCreate) -> tuple[str, str]:
        title = data.title.strip()
        source = data.input_source.strip()
        errors: list[FieldError] = []
        if not title:
            errors.append(FieldError(field="title", message="may not be blank"))
        if not source:
            errors.append(FieldError(field="input_source", message="may not be blank"))
        elif data.source_type == SourceType.URLS:
            urls = split_urls(source)
            if len(urls) > self.max_urls:
                errors.append(
                    FieldError(
                        field="input_source", message=f"lists {len(urls)} URLs; at most {self.max_urls}"
                    )
                )
            for url in urls[: self.max_urls]:
                problem = url_problem(url)
                if problem is not None:
                    errors.append(FieldError(field="input_source", message=f"{url[:100]!r} {problem}"))
        errors.extend(self._engine_problems(data))
        if errors:
            raise InvalidInput("The research task is not valid.", errors=errors)
        return title, source

    def _engine_problems(self, data: ResearchTaskCreate) -> list[FieldError]:
        # An engine not configured on this instance may be on the workers': left to the runner.
        engine = self.engines.get(data.engine)
        if engine is None or data.source_type in engine.source_types:
            return []
        able = self.engines.able_to_run(data.source_type)
        which = f"engines that can: {', '.join(able)}" if able else "no engine configured here can"
        message = f"the '{data.engine}' engine cannot research {data.source_type.value} input ({which})"
        return [FieldError(field="engine", message=message)]

    async def create(self, owner: uuid.UUID, data: ResearchTaskCreate) -> ResearchTaskRead:
        title, source = self._validate(data)
        unavailable = self.engines.unavailable_reason(data.engine)
        if unavailable is not None:
            raise EngineUnavailable(
                f"The research engine '{data.engine}' is unavailable: {unavailable}.",
                errors=[FieldError(field="engine", message=unavailable)],
            )
        async with self.db.session() as session:
            if data.prospect_id is not None and await find_prospect(session, owner, data.prospect_id) is None:
                # Another user's prospect is indistinguishable from a missing one.
                raise InvalidInput(
                    "The research task is not valid.",
                    errors=[FieldError(field="prospect_id", message="no such prospect")],
                )
            if self.budget is not None and uses_llm(TaskKind.RESEARCH, data.engine):
                await self.budget.admit(session, owner)
            task = await enqueue(
                self.events,
                session,
                user_id=owner,
                title=title,
                input_source=source,
                source_type=data.source_type,
                engine=data.engine,
                priority=data.priority,
                prospect_id=data.prospect_id,
            )
        return to_read(task)

    async def get(self, owner: uuid.UUID, task_id: uuid.UUID) -> ResearchTaskRead:
        async with self.db.read_session() as session:
            task = await ResearchTaskRepository(session).get(owner, task_id)
        if task is None:
            raise NotFound(_NOT_FOUND)
        return to_read(task)

    async def latest_insight(self, owner: uuid.UUID, prospect_id: uuid.UUID) -> Insight | None:
        """The newest insight of the owner's finished research on ``prospect_id`` (drafting uses it)."""
        async with self.db.read_session() as session:
            value = await ResearchTaskRepository(session).latest_insight(owner, prospect_id)
        return None if value is None else msgspec.convert(value, Insight)

    async def list(
        self,
        owner: uuid.UUID,
        *,
        status: TaskStatus | None = None,
        priority: Priority | None = None,
        kind: TaskKind | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResearchTaskPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        async with self.db.read_session() as session:
            rows = await ResearchTaskRepository(session).list(
                owner,
                status=None if status is None else status.value,
                priority=None if priority is None else priority.value,
                kind=None if kind is None else kind.value,
                limit=limit + 1,
                after=None if after is None else (after[0], after[1]),
            )
        items = [to_read(task) for task in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.created_at.isoformat(), str(last.id))
        return ResearchTaskPage(items=items, next_cursor=next_cursor)

    async def cancel(self, owner: uuid.UUID, task_id: uuid.UUID) -> ResearchTaskRead:
        async with self.db.session() as session:
            task = await _locked_task(session, owner, task_id)
            if task.status not in CANCELLABLE:
                raise Conflict(
                    f"The task is already {task.status}; only queued or running tasks can be cancelled."
                )
            now = utcnow()
            was = task.status
            task.status = TaskStatus.CANCELLED.value
            task.completed_at = now
            task.claimed_by = None
            task.lease_expires_at = None
            task.updated_at = now
            await session.flush()
            await record_state(self.events, session, task, detail=f"cancelled while {was}")
        return to_read(task)

    async def retry(self, owner: uuid.UUID, task_id: uuid.UUID) -> ResearchTaskRead:
        async with self.db.session() as session:
            task = await _locked_task(session, owner, task_id)
            if task.status not in RETRYABLE:
                raise Conflict(f"The task is {task.status}; only failed or cancelled tasks can be retried.")
            if self.budget is not None and uses_llm(task.kind, task.engine):
                await self.budget.admit(session, owner, exclude=task.id)
            task.status = TaskStatus.QUEUED.value
            task.progress = 0
            task.error = None
            task.insight = None
            task.output_id = None
            task.started_at = None
            task.completed_at = None
            task.interruptions = 0
            task.claimed_by = None
            task.lease_expires_at = None
            task.updated_at = utcnow()
            await session.flush()
            await record_state(self.events, session, task, detail="retried")
        return to_read(task)

    async def queue_draft(
        self,
        owner: uuid.UUID,
        *,
        kind: TaskKind,
        title: str,
        input_source: str,
        source_type: SourceType,
        params: dict[str, object],
        prospect_id: uuid.UUID | None = None,
    ) -> ResearchTaskRead:
        """Queue a drafting task (see :mod:`aiclone.drafting`) after the budget check, in one transaction."""
        async with self.db.session() as session:
            if prospect_id is not None and await find_prospect(session, owner, prospect_id) is None:
                raise NotFound("The prospect does not exist.")
            if self.budget is not None:
                await self.budget.admit(session, owner)
            task = await enqueue(
                self.events,
                session,
                user_id=owner,
                title=title[:200],
                input_source=input_source[:MAX_INPUT_SOURCE_LENGTH],
                source_type=source_type,
                engine="llm",
                priority=Priority.HIGH,
                prospect_id=prospect_id,
                kind=kind,
                params=params,
            )
        return to_read(task)
