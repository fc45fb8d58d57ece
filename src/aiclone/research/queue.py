"""The runner's side of research tasks: claim, lease, finish, release and recover.

Every method is one transaction that changes a task and writes its events together. Writes that
end a run are fenced on (running, claimed_by, attempts): when the task was cancelled, recovered
or claimed again meanwhile, they change nothing and return False.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database, utcnow
from aiclone.events.log import EventLog
from aiclone.research.models import ResearchTask, SourceType, TaskKind, TaskStatus
from aiclone.research.repository import ResearchTaskRepository
from aiclone.research.schemas import Insight
from aiclone.research.state import record_state
from aiclone.research.usage import TokenCounters, record_llm_usage

logger = logging.getLogger("aiclone.research.queue")


@dataclass(frozen=True)
class Claim:
    """A task this worker holds for one attempt."""

    task_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    worker_id: str
    title: str
    input_source: str
    source_type: SourceType
    engine: str
    prospect_id: uuid.UUID | None
    kind: TaskKind = TaskKind.RESEARCH
    params: dict[str, Any] | None = None


# Writes a drafting task's result in the transaction that finishes the task.
Landing = Callable[[AsyncSession, ResearchTask], Awaitable[uuid.UUID]]


class ResearchQueue:
    def __init__(
        self,
        db: Database,
        events: EventLog,
        counters: TokenCounters,
        *,
        lease_seconds: float = 30.0,
        max_interruptions: int = 3,
    ) -> None:
        self.db = db
        self.events = events
        self.counters = counters
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.max_interruptions = max_interruptions

    async def claim(self, worker_id: str) -> Claim | None:
        async with self.db.session() as session:
            now = utcnow()
            task = await ResearchTaskRepository(session).claim_next(
                worker_id, now=now, lease_until=now + self.lease
            )
            if task is None:
                return None
            await record_state(self.events, session, task, detail=f"claimed by {worker_id}")
        return Claim(
            task_id=task.id,
            user_id=task.user_id,
            attempt=task.attempts,
            worker_id=worker_id,
            title=task.title,
            input_source=task.input_source,
            source_type=SourceType(task.source_type),
            engine=task.engine,
            prospect_id=task.prospect_id,
            kind=TaskKind(task.kind),
            params=task.params,
        )

    async def renew(self, worker_id: str, task_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, int]]:
        async with self.db.session() as session:
            return await ResearchTaskRepository(session).renew_leases(
                worker_id, task_ids, until=utcnow() + self.lease
            )

    async def held(self, worker_id: str, task_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, int]]:
        async with self.db.read_session() as session:
            return await ResearchTaskRepository(session).held_by(worker_id, task_ids)

    async def _finish(
        self, claim: Claim, values: dict[str, Any], detail: str | None = None, *, land: Landing | None = None
    ) -> bool:
        async with self.db.session() as session:
            task = await ResearchTaskRepository(session).finish_claimed(
                claim.task_id, worker_id=claim.worker_id, attempt=claim.attempt, values=values
            )
            if task is None:
                logger.info(
                    "research task %s was no longer held by %s; result dropped",
                    claim.task_id,
                    claim.worker_id,
                )
                return False
            if land is not None:
                # Inside the fenced transaction: a task cancelled meanwhile writes no draft, and a
                # draft that cannot be written rolls the whole finish back.
                task.output_id = await land(session, task)
                await session.flush()
            await record_state(self.events, session, task, detail=detail)
        return True

    async def record_usage(self, claim: Claim, tokens_in: int, tokens_out: int) -> None:
        """Count a provider call's tokens now, in a transaction of their own: whatever becomes of
        the run, the tokens were spent."""
        async with self.db.session() as session:
            await record_llm_usage(
                session, self.counters, claim.user_id, claim.task_id, tokens_in, tokens_out
            )

    async def complete_draft(self, claim: Claim, land: Landing) -> bool:
        return await self._finish(claim, _run_ended(TaskStatus.DONE, progress=100, error=None), land=land)

    async def complete(self, claim: Claim, insight: Insight) -> bool:
        insight_values = msgspec.to_builtins(insight)
        return await self._finish(
            claim, _run_ended(TaskStatus.DONE, progress=100, error=None, insight=insight_values)
        )

    async def fail(self, claim: Claim, error: str) -> bool:
        return await self._finish(claim, _run_ended(TaskStatus.FAILED, error=error[:2000]))

    async def release(self, claim: Claim, detail: str) -> bool:
        """Put a task this worker holds back in the queue (the worker is shutting down)."""
        return await self._finish(claim, _run_ended(TaskStatus.QUEUED, progress=0), detail=detail)

    async def recover_expired(self, *, batch: int = 100) -> int:
        """Requeue running tasks whose lease ran out (their worker died); returns how many.

        A task interrupted more than ``max_interruptions`` times since its last retry is failed
        instead, so a task that kills its worker cannot take the fleet down in a loop.
        """
        async with self.db.session() as session:
            now = utcnow()
            tasks = await ResearchTaskRepository(session).lease_expired(now, limit=batch)
            for task in tasks:
                self._requeue_or_fail(task, now)
                await session.flush()
                await record_state(
                    self.events, session, task, detail="lease expired; the worker holding it stopped"
                )
        if tasks:
            logger.warning("recovered %d research task(s) whose worker stopped", len(tasks))
        return len(tasks)

    def _requeue_or_fail(self, task: ResearchTask, now: dt.datetime) -> None:
        task.interruptions += 1
        task.claimed_by = None
        task.lease_expires_at = None
        task.updated_at = now
        if task.interruptions > self.max_interruptions:
            task.status = TaskStatus.FAILED.value
            task.error = (
                f"The worker running this task stopped {task.interruptions} times; giving up."
                " Retry the task to run it again."
            )
            task.completed_at = now
        else:
            task.status = TaskStatus.QUEUED.value
            task.progress = 0


def _run_ended(status: TaskStatus, **values: Any) -> dict[str, Any]:
    """The values that end a run in ``status``: its claim and lease are let go, and a task that
    does not go back to the queue is completed at the same instant."""
    now = utcnow()
    ended = {"status": status.value, "claimed_by": None, "lease_expires_at": None, "updated_at": now}
    if status is not TaskStatus.QUEUED:
        ended["completed_at"] = now
    return {**ended, **values}
