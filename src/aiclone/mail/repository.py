"""The outbox's queries: claim due mail, finish it fenced on the claim, prune old rows."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.claims import due, locks_rows
from aiclone.mail.models import MailStatus, OutboxMail

_FINISHED = (MailStatus.SENT.value, MailStatus.FAILED.value)


@dataclass(frozen=True)
class Claim:
    """A mail this worker holds for one attempt (see :mod:`aiclone.claims`)."""

    mail_id: uuid.UUID
    attempt: int
    worker_id: str
    kind: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    created_at: dt.datetime


# What a claim returns of each row, labelled as the fields of Claim (worker_id aside).
_CLAIMED = (
    OutboxMail.id.label("mail_id"),
    OutboxMail.attempts.label("attempt"),
    OutboxMail.kind,
    OutboxMail.to_address,
    OutboxMail.subject,
    OutboxMail.text_body,
    OutboxMail.html_body,
    OutboxMail.created_at,
)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, mail: OutboxMail) -> OutboxMail:
        self.session.add(mail)
        await self.session.flush()
        return mail

    async def claim(
        self, worker_id: str, *, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[Claim]:
        """Take up to ``limit`` due mails: pending and due, or sending under an expired lease.

        Candidates are row-locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
        workers take disjoint sets; on SQLite the surrounding BEGIN IMMEDIATE transaction admits
        one claimer at a time. The attempt number is handed out here, once.
        """
        waiting = due(
            OutboxMail.status,
            OutboxMail.next_attempt_at,
            OutboxMail.lease_until,
            now=now,
            waiting=MailStatus.PENDING.value,
            held=MailStatus.SENDING.value,
        )
        candidates = select(OutboxMail.id).where(waiting).order_by(OutboxMail.next_attempt_at).limit(limit)
        if locks_rows(self.session):
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(candidates)).all())
        if not ids:
            return []
        rows = await self.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(ids))
            .values(
                status=MailStatus.SENDING.value,
                claimed_by=worker_id,
                lease_until=lease_until,
                attempts=OutboxMail.attempts + 1,
            )
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        )
        return [Claim(worker_id=worker_id, **row._mapping) for row in rows.all()]

    async def finish(self, claim: Claim, values: dict[str, Any]) -> bool:
        """Write an attempt's outcome, only if this worker still holds that attempt."""
        result = await self.session.execute(
            update(OutboxMail)
            .where(
                OutboxMail.id == claim.mail_id,
                OutboxMail.status == MailStatus.SENDING.value,
                OutboxMail.claimed_by == claim.worker_id,
                OutboxMail.attempts == claim.attempt,
            )
            .values(claimed_by=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def next_wake(self) -> dt.datetime | None:
        """When the earliest pending mail falls due (for the worker's wake-up timer)."""
        return await self.session.scalar(
            select(OutboxMail.next_attempt_at)
            .where(OutboxMail.status == MailStatus.PENDING.value)
            .order_by(OutboxMail.next_attempt_at)
            .limit(1)
        )

    async def prune_finished(self, before: dt.datetime, *, limit: int = 500) -> int:
        doomed = (
            select(OutboxMail.id)
            .where(OutboxMail.status.in_(_FINISHED), OutboxMail.finished_at < before)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(OutboxMail).where(OutboxMail.id.in_(doomed)).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
