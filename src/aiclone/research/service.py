"""Research tasks as the API sees them: create, read, cancel, retry.

Each state change and its events commit in one transaction (see :mod:`aiclone.research.state`).
Cancelling a running task only changes the row; the runner holding it notices (through the
broker, or its once-a-second check) and stops, and its own final write is fenced so it cannot
overwrite the cancellation.
"""

from __future__ import annotations

import datetime as dt
import uuid

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from aiclone.events.log import EventLog
from aiclone.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from aiclone.prospects.repository import ProspectRepository
from aiclone.research.engines.base import EngineRegistry, EngineStatus
from aiclone.research.models import PRIORITY_RANK, Priority, ResearchTask, SourceType, TaskStatus
from aiclone.research.repository import ResearchTaskRepository
from aiclone.research.schemas import ResearchTaskCreate, ResearchTaskPage, ResearchTaskRead
from aiclone.research.sources import split_urls, url_problem
from aiclone.research.state import record_state, to_read

_NOT_FOUND = "No such research task."
CANCELLABLE = frozenset({TaskStatus.QUEUED.value, TaskStatus.RUNNING.value})
RETRYABLE = frozenset({TaskStatus.FAILED.value, TaskStatus.CANCELLED.value})


class EngineUnavailable(DomainError):
    """A task asks for an engine this installation has but cannot run (e.g. llm, no provider)."""

    status = 422
    slug = "engine-unavailable"
    title = "Research engine unavailable"


class ResearchService:
    def __init__(
        self,
        db: Database,
        events: EventLog,
        *,
        max_urls: int = 20,
        engines: EngineRegistry | None = None,
    ) -> None:
        self.db = db
        self.events = events
        self.max_urls = max_urls
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
        if errors:
            raise InvalidInput("The research task is not valid.", errors=errors)
        return title, source

    async def create(self, owner: uuid.UUID, data: ResearchTaskCreate) -> ResearchTaskRead:
        title, source = self._validate(data)
        unavailable = self.engines.unavailable_reason(data.engine)
        if unavailable is not None:
            raise EngineUnavailable(
                f"The research engine '{data.engine}' is unavailable: {unavailable}.",
                errors=[FieldError(field="engine", message=unavailable)],
            )
        async with self.db.session() as session:
            if (
                data.prospect_id is not None
                and await ProspectRepository(session).get(owner, data.prospect_id) is None
            ):
                # Another user's prospect is indistinguishable from a missing one.
                raise InvalidInput(
                    "The research task is not valid.",
                    errors=[FieldError(field="prospect_id", message="no such prospect")],
                )
            task = await ResearchTaskRepository(session).add(
                ResearchTask(
                    user_id=owner,
                    title=title,
                    input_source=source,
                    source_type=data.source_type.value,
                    engine=data.engine,
                    priority=data.priority.value,
                    priority_rank=PRIORITY_RANK[data.priority],
                    prospect_id=data.prospect_id,
                    status=TaskStatus.QUEUED.value,
                    progress=0,
                    attempts=0,
                    interruptions=0,
                )
            )
            await record_state(self.events, session, task)
        return to_read(task)

    async def get(self, owner: uuid.UUID, task_id: uuid.UUID) -> ResearchTaskRead:
        async with self.db.read_session() as session:
            task = await ResearchTaskRepository(session).get(owner, task_id)
        if task is None:
            raise NotFound(_NOT_FOUND)
        return to_read(task)

    async def list(
        self,
        owner: uuid.UUID,
        *,
        status: TaskStatus | None = None,
        priority: Priority | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResearchTaskPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        async with self.db.read_session() as session:
            rows = await ResearchTaskRepository(session).list(
                owner,
                status=None if status is None else status.value,
                priority=None if priority is None else priority.value,
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
            task = await ResearchTaskRepository(session).get(owner, task_id, lock=True)
            if task is None:
                raise NotFound(_NOT_FOUND)
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
            task = await ResearchTaskRepository(session).get(owner, task_id, lock=True)
            if task is None:
                raise NotFound(_NOT_FOUND)
            if task.status not in RETRYABLE:
                raise Conflict(f"The task is {task.status}; only failed or cancelled tasks can be retried.")
            task.status = TaskStatus.QUEUED.value
            task.progress = 0
            task.error = None
            task.insight = None
            task.started_at = None
            task.completed_at = None
            task.interruptions = 0
            task.claimed_by = None
            task.lease_expires_at = None
            task.updated_at = utcnow()
            await session.flush()
            await record_state(self.events, session, task, detail="retried")
        return to_read(task)
