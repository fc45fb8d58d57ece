"""The mail worker: claims due outbox rows, sends them, records each outcome fenced on its claim.

Mail is rare next to webhooks (account flows only), so one worker sends one message at a time
per process: a claim round takes a small batch, sends it in order and goes back for more. An
idle worker wakes when a mail is committed in this process, when the next retry falls due, or
after ``AICLONE_MAIL_POLL_SECONDS`` at most.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from email.headerregistry import Address
from pathlib import Path

from aiclone.claims import Doorbell, new_worker_id, run_rounds, seconds_until
from aiclone.db import Database, utcnow
from aiclone.mail.message import build_message
from aiclone.mail.models import MailStatus
from aiclone.mail.outbox import MailOutbox
from aiclone.mail.repository import Claim, OutboxRepository
from aiclone.mail.transport import DirectoryTransport, MailTransport, SendFailure, SmtpTransport
from aiclone.retry import next_delay
from aiclone.settings import MailSettings

logger = logging.getLogger("aiclone.mail")

CLAIM_BATCH = 20
PRUNE_INTERVAL_SECONDS = 600.0
RETRY_JITTER = 0.1


class MailWorker:
    name = "mail"

    def __init__(
        self,
        db: Database,
        transport: MailTransport,
        *,
        sender: Address,
        retry_schedule: tuple[float, ...],
        lease_seconds: float,
        poll_seconds: float,
        retention: dt.timedelta,
    ) -> None:
        self.db = db
        self.transport = transport
        self.sender = sender
        self.retry_schedule = retry_schedule
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.worker_id = new_worker_id()
        self._bell = Doorbell()
        self._next_prune = 0.0
        self.outbox = MailOutbox()
        self.outbox.on_enqueue(self.wake)

    @classmethod
    def from_settings(
        cls, db: Database, settings: MailSettings, *, mail_dir: Path, production: bool
    ) -> MailWorker:
        """``mail_dir`` holds the mail as files when no SMTP server is set."""
        transport: MailTransport
        smtp = settings.smtp()
        if smtp is not None:
            transport = SmtpTransport(smtp, timeout=settings.timeout_seconds)
        else:
            transport = DirectoryTransport(mail_dir.resolve())
            if production:
                logger.warning(
                    "AICLONE_SMTP_URL is not set: mail is written to %s, not sent", transport.directory
                )
        return cls(
            db,
            transport,
            sender=settings.sender_address(),
            retry_schedule=settings.retry_schedule,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.poll_seconds,
            retention=dt.timedelta(days=settings.retention_days),
        )

    def wake(self) -> None:
        self._bell.ring()

    async def run(self, stop: asyncio.Event) -> None:
        logger.info("mail worker started; sending to %s", self.transport.describe())

        async def claim_round() -> float | None:
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
                await self.prune_once()
            if await self.run_once(stop) == CLAIM_BATCH:
                return None
            async with self.db.read_session() as session:
                due = await OutboxRepository(session).next_wake()
            return seconds_until(due, poll=self.poll_seconds, floor=0.01)

        await run_rounds(stop, self._bell, claim_round)

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and send it; returns how many were claimed."""
        now = utcnow()
        async with self.db.session() as session:
            claims = await OutboxRepository(session).claim(
                self.worker_id, now=now, lease_until=now + self.lease, limit=CLAIM_BATCH
            )
        for claim in claims:
            if stop is not None and stop.is_set():
                break  # the rest come back when their lease ends
            await self._attempt(claim)
        return len(claims)

    async def _attempt(self, claim: Claim) -> None:
        try:
            message = build_message(claim, self.sender)
        except (ValueError, TypeError) as exc:
            # A row no message can be made of fails once, instead of crashing the worker on every claim.
            await self._record_failure(
                claim, SendFailure(f"cannot build the message ({type(exc).__name__})", permanent=True)
            )
            return
        try:
            await self.transport.send(message, name=str(claim.mail_id))
        except SendFailure as failure:
            await self._record_failure(claim, failure)
            return
        async with self.db.session() as session:
            await OutboxRepository(session).finish(
                claim,
                {"status": MailStatus.SENT.value, "finished_at": utcnow(), "text_body": "", "html_body": ""},
            )
        logger.info("mail %s (%s) sent, attempt %d", claim.mail_id, claim.kind, claim.attempt)

    async def _record_failure(self, claim: Claim, failure: SendFailure) -> None:
        delay = (
            None
            if failure.permanent
            else next_delay(self.retry_schedule, claim.attempt - 1, jitter=RETRY_JITTER)
        )
        now = utcnow()
        if delay is None:
            values = {
                "status": MailStatus.FAILED.value,
                "finished_at": now,
                "last_error": failure.reason[:500],
                "text_body": "",
                "html_body": "",
            }
            logger.warning(
                "mail %s (%s) failed for good after %d attempt(s): %s",
                claim.mail_id,
                claim.kind,
                claim.attempt,
                failure.reason,
            )
        else:
            values = {
                "status": MailStatus.PENDING.value,
                "next_attempt_at": now + dt.timedelta(seconds=delay),
                "last_error": failure.reason[:500],
            }
            logger.warning(
                "mail %s (%s) attempt %d failed (%s); retrying in %.0f s",
                claim.mail_id,
                claim.kind,
                claim.attempt,
                failure.reason,
                delay,
            )
        async with self.db.session() as session:
            await OutboxRepository(session).finish(claim, values)

    async def prune_once(self) -> int:
        async with self.db.session() as session:
            removed = await OutboxRepository(session).prune_finished(utcnow() - self.retention)
        if removed:
            logger.info("pruned %d finished mail(s)", removed)
        return removed
