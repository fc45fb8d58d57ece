"""Queries on research tasks, including the runner's claim, lease and recovery statements."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.claims import locks_rows
from aiclone.pagination import newest_first
from aiclone.queries import where_equal
from aiclone.research.models import ResearchTask, TaskKind, TaskStatus


class ResearchTaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, task: ResearchTask) -> ResearchTask:
        self.session.add(task)
        await self.session.flush()
        return task

    async def get(self, owner: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False) -> ResearchTask | None:
        """The owner's task; ``lock`` holds its row until commit (PostgreSQL; SQLite's writer
        transaction is exclusive anyway)."""
        query = select(ResearchTask).where(ResearchTask.id == task_id, ResearchTask.user_id == owner)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def list(
        self,
        owner: uuid.UUID,
        *,
        status: str | None,
        priority: str | None,
        kind: str | None = None,
        limit: int,
        after: tuple[dt.datetime, uuid.UUID] | None,
    ) -> Sequence[ResearchTask]:
        query = where_equal(
            select(ResearchTask).where(ResearchTask.user_id == owner),
            (ResearchTask.status, status),
            (ResearchTask.priority, priority),
            (ResearchTask.kind, kind),
        )
        query = newest_first(query, ResearchTask.created_at, ResearchTask.id, after=after, limit=limit)
        return (await self.session.scalars(query)).all()

    async def latest_insight(self, owner: uuid.UUID, prospect_id: uuid.UUID) -> dict[str, Any] | None:
        """The insight of the owner's research on this prospect that finished last, if any."""
        query = (
            select(ResearchTask.insight)
            .where(
                ResearchTask.user_id == owner,
                ResearchTask.prospect_id == prospect_id,
                ResearchTask.kind == TaskKind.RESEARCH.value,
                ResearchTask.status == TaskStatus.DONE.value,
                ResearchTask.insight.is_not(None),
            )
            .order_by(ResearchTask.completed_at.desc(), ResearchTask.id.desc())
            .limit(1)
        )
        value = await self.session.scalar(query)
        return value if isinstance(value, dict) else None

    async def claim_next(
        self, worker_id: str, *, now: dt.datetime, lease_until: dt.datetime
    ) -> ResearchTask | None:
        """Take the next queued task (priority, then age) for ``worker_id``; None if none is queued.

        One statement: ``UPDATE … WHERE id = (SELECT … LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING``.
        On PostgreSQL concurrent claimers skip each other's locked rows instead of waiting; on
        SQLite the surrounding BEGIN IMMEDIATE transaction already admits one writer at a time.
        The outer ``status = 'queued'`` re-check keeps a row that changed meanwhile from being taken.
        """
        candidate = (
            select(ResearchTask.id)
            .where(ResearchTask.status == TaskStatus.QUEUED.value)
            .order_by(ResearchTask.priority_rank, ResearchTask.created_at, ResearchTask.id)
            .limit(1)
        )
        if locks_rows(self.session):
            candidate = candidate.with_for_update(skip_locked=True)
        statement = (
            update(ResearchTask)
            .where(
                ResearchTask.id == candidate.scalar_subquery(), ResearchTask.status == TaskStatus.QUEUED.value
            )
            .values(
                status=TaskStatus.RUNNING.value,
                progress=0,
                error=None,
                attempts=ResearchTask.attempts + 1,
                claimed_by=worker_id,
                lease_expires_at=lease_until,
                # ``now`` was read before this statement; a task committed in between has a
                # later created_at, and a run never starts before its task exists.
                started_at=case(
                    (
                        ResearchTask.created_at > literal(now, ResearchTask.created_at.type),
                        ResearchTask.created_at,
                    ),
                    else_=literal(now, ResearchTask.created_at.type),
                ),
                completed_at=None,
                updated_at=now,
            )
            .returning(ResearchTask)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def finish_claimed(
        self, task_id: uuid.UUID, *, worker_id: str, attempt: int, values: dict[str, Any]
    ) -> ResearchTask | None:
        """Update a task this worker still holds (running, claimed by it, same attempt); None if
        it was cancelled, recovered or re-claimed meanwhile."""
        statement = (
            update(ResearchTask)
            .where(
                ResearchTask.id == task_id,
                ResearchTask.status == TaskStatus.RUNNING.value,
                ResearchTask.claimed_by == worker_id,
                ResearchTask.attempts == attempt,
            )
            .values(**values)
            .returning(ResearchTask)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def renew_leases(
        self, worker_id: str, task_ids: Sequence[uuid.UUID], *, until: dt.datetime
    ) -> set[tuple[uuid.UUID, int]]:
        """Extend this worker's leases; returns (id, attempts) of the tasks it still holds."""
        if not task_ids:
            return set()
        statement = (
            update(ResearchTask)
            .where(
                ResearchTask.id.in_(list(task_ids)),
                ResearchTask.status == TaskStatus.RUNNING.value,
                ResearchTask.claimed_by == worker_id,
            )
            .values(lease_expires_at=until)
            .returning(ResearchTask.id, ResearchTask.attempts)
            .execution_options(synchronize_session=False)
        )
        return {(row.id, row.attempts) for row in await self.session.execute(statement)}

    async def held_by(self, worker_id: str, task_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, int]]:
        """(id, attempts) of the given tasks that are still running under ``worker_id``."""
        if not task_ids:
            return set()
        rows = await self.session.execute(
            select(ResearchTask.id, ResearchTask.attempts).where(
                ResearchTask.id.in_(list(task_ids)),
                ResearchTask.status == TaskStatus.RUNNING.value,
                ResearchTask.claimed_by == worker_id,
            )
        )
        return {(row.id, row.attempts) for row in rows}

    async def lease_expired(self, now: dt.datetime, *, limit: int) -> Sequence[ResearchTask]:
        """Running tasks whose lease ran out, locked for this transaction (skipping locked ones)."""
        query = (
            select(ResearchTask)
            .where(ResearchTask.status == TaskStatus.RUNNING.value, ResearchTask.lease_expires_at < now)
            .order_by(ResearchTask.lease_expires_at)
            .limit(limit)
        )
        if locks_rows(self.session):
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()
