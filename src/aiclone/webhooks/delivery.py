"""The delivery worker: claims due deliveries, sends them, records the outcomes.

One :class:`DeliveryWorker` runs per process (inside ``aiclone serve`` and ``aiclone worker``).

* Claiming: a round takes up to the free capacity of due deliveries in one short transaction
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the BEGIN IMMEDIATE write lock on SQLite) and marks
  them ``sending`` under this worker's name with a lease. The lease is longer than the request
  timeout, so a live worker always finishes inside it; a worker killed mid-attempt leaves the
  delivery to be taken again once the lease expires (that attempt is logged as ``interrupted``).
  Delivery is therefore at-least-once, and the receiver de-duplicates by ``webhook-id``.
* Waking: the event broker is the doorbell (``subscribe(None)``): a committed event wakes the
  worker at once, and a fallback timer wakes it when the next retry falls due or after
  ``AICLONE_WEBHOOK_POLL_SECONDS`` at most. Finishing a send wakes it when capacity was the limit.
* Isolation: at most ``AICLONE_WEBHOOK_WORKER_CONCURRENCY`` sends in flight per process and at most
  ``AICLONE_WEBHOOK_ENDPOINT_CONCURRENCY`` per endpoint per process; a saturated endpoint is left
  out of the claim query entirely, so a hanging endpoint's backlog never crowds out the others.
* Recording: outcomes are written in batches, one transaction per batch (attempt rows, delivery
  state, endpoint health, notifications), by one writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.claims import Doorbell, listen, new_worker_id, run_rounds, seconds_until
from aiclone.db import Database, utcnow
from aiclone.events.broker import EventBroker
from aiclone.settings.webhooks import WebhookSettings
from aiclone.webhooks.flavours import signed
from aiclone.webhooks.log import DeliveryLog
from aiclone.webhooks.models import message_id
from aiclone.webhooks.outcomes import OutcomeRecorder
from aiclone.webhooks.queue import Claim, DeliveryQueue
from aiclone.webhooks.sender import Outcome, Sender
from aiclone.webhooks.signing import SecretBox
from aiclone.workers import RetentionJob

logger = logging.getLogger("aiclone.webhooks.worker")

CLAIM_BATCH = 100
RECORD_BATCH = 500
MIN_WAIT_SECONDS = 0.005
# Rounds start at least this far apart, so a burst of finished sends (or of commits) is served by
# one claim transaction instead of one each; it bounds the claim rate, not the pickup latency of
# an idle worker.
ROUND_SPACING_SECONDS = 0.01


@dataclass(eq=False)
class DeliveryWorker:
    db: Database
    broker: EventBroker
    sender: Sender
    recorder: OutcomeRecorder
    box: SecretBox
    settings: WebhookSettings
    name: str = field(init=False, default="webhook-delivery")
    worker_id: str = field(init=False, default_factory=new_worker_id)
    _in_flight: int = field(init=False, default=0)
    _per_endpoint: dict[uuid.UUID, int] = field(init=False, default_factory=dict)
    _capacity_bound: bool = field(init=False, default=False)
    _bell: Doorbell = field(init=False, default_factory=Doorbell)
    _results: asyncio.Queue[tuple[Claim, Outcome] | None] = field(init=False, default_factory=asyncio.Queue)
    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.concurrency = self.settings.worker_concurrency
        self.endpoint_concurrency = self.settings.endpoint_concurrency
        self.lease = dt.timedelta(seconds=self.settings.lease_seconds)
        self.poll_seconds = self.settings.poll_seconds

    def wake(self) -> None:
        """Look for due deliveries now (something was re-queued in this process)."""
        self._bell.ring()

    async def run(self, stop: asyncio.Event) -> None:
        # Any committed event may have queued deliveries: the broker rings the doorbell.
        doorbell = asyncio.create_task(
            listen(self.broker, lambda _: self._bell.ring()), name="webhook-doorbell"
        )
        writer = asyncio.create_task(self._write_results(), name="webhook-recorder")
        try:
            await run_rounds(stop, self._bell, self._claim_round, spacing=ROUND_SPACING_SECONDS)
        finally:
            doorbell.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await doorbell
            await self._drain(writer)

    async def _claim_round(self) -> float | None:
        """Claim and start what fits; returns None when more may be due now, else how long to sleep."""
        room_total = self.concurrency - self._in_flight
        if room_total <= 0:
            self._capacity_bound = True
            return self.poll_seconds
        self._capacity_bound = False
        saturated = [e for e, n in self._per_endpoint.items() if n >= self.endpoint_concurrency]
        room = {e: self.endpoint_concurrency - n for e, n in self._per_endpoint.items()}
        limit = min(room_total, CLAIM_BATCH)
        now = utcnow()
        next_wake: dt.datetime | None = None
        try:
            async with self.db.session() as session:
                queue = DeliveryQueue(session)
                claims, full_window = await queue.claim(
                    worker=self.worker_id,
                    now=now,
                    lease_until=now + self.lease,
                    limit=limit,
                    skip_endpoints=saturated,
                    room=room,
                    default_room=self.endpoint_concurrency,
                    lease_length=self.lease,
                )
                if not full_window:
                    next_wake = await queue.next_wake(now=now, skip_endpoints=saturated)
        except Exception:
            logger.exception("claiming webhook deliveries failed; retrying shortly")
            return min(self.poll_seconds, 1.0)
        for claim in claims:
            self._start(claim, now)
        return (
            None if full_window else seconds_until(next_wake, poll=self.poll_seconds, floor=MIN_WAIT_SECONDS)
        )

    def _start(self, claim: Claim, now: dt.datetime) -> None:
        self._in_flight += 1
        self._per_endpoint[claim.endpoint_id] = self._per_endpoint.get(claim.endpoint_id, 0) + 1
        task = asyncio.create_task(self._deliver(claim, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, claim: Claim, now: dt.datetime) -> None:
        try:
            try:
                # Only standard endpoints are signed; the others never need their secret opened.
                keys = (
                    self.box.signing_keys(
                        claim.endpoint_id,
                        claim.secret_sealed,
                        claim.previous_secret_sealed,
                        claim.previous_secret_expires_at,
                        now,
                    )
                    if signed(claim.flavour)
                    else []
                )
            except ValueError as exc:
                logger.error("webhook endpoint %s: %s", claim.endpoint_id, exc)  # noqa: TRY400 - no traceback needed
                outcome = Outcome(
                    utcnow(), 0, error_class="internal", error="the signing secret is unreadable; rotate it"
                )
            else:
                outcome = await self.sender.send(
                    endpoint_id=claim.endpoint_id,
                    url=claim.url,
                    msg_id=message_id(claim.delivery_id),
                    body=claim.payload.encode(),
                    keys=keys,
                    flavour=claim.flavour,
                )
            self._results.put_nowait((claim, outcome))
        finally:
            self._in_flight -= 1
            count = self._per_endpoint[claim.endpoint_id] - 1
            if count:
                self._per_endpoint[claim.endpoint_id] = count
            else:
                del self._per_endpoint[claim.endpoint_id]
            if self._capacity_bound or count + 1 >= self.endpoint_concurrency:
                self._bell.ring()

    async def _write_results(self) -> None:
        while True:
            first = await self._results.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < RECORD_BATCH and not self._results.empty():
                item = self._results.get_nowait()
                if item is None:
                    await self._record(batch)
                    return
                batch.append(item)
            await self._record(batch)

    async def _record(self, batch: list[tuple[Claim, Outcome]]) -> None:
        try:
            async with self.db.session() as session:
                await self.recorder.record_scheduled(session, self.worker_id, batch)
        except Exception:
            # The deliveries stay claimed until their lease expires, then are sent again.
            logger.exception("recording %d webhook attempts failed", len(batch))

    async def _drain(self, writer: asyncio.Task[None]) -> None:
        """On stop: let in-flight sends finish (bounded), record what finished, leave the rest leased."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=min(self.sender.total_timeout, 8.0))
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._results.put_nowait(None)
        try:
            await asyncio.wait_for(writer, timeout=5.0)
        except (TimeoutError, asyncio.CancelledError):
            writer.cancel()


class DeliveryRetentionJob(RetentionJob):
    """Deletes finished deliveries (and their attempts) older than the retention age."""

    name = "webhook-retention"
    what = "finished webhook deliveries"
    every = 3600.0

    async def prune_batch(self, session: AsyncSession, cutoff: dt.datetime) -> int:
        return await DeliveryLog(session).prune_finished(cutoff)
