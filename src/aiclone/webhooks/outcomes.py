"""What an attempt's outcome changes: the attempt log, the delivery, and the endpoint's health.

Scheduled attempts (the workers') move the endpoint's health:

* any 2xx resets the failure streak;
* every failed attempt extends it; the first failure of a streak notifies the owner that the
  endpoint started failing (at most once an hour per endpoint), and reaching
  ``AICLONE_WEBHOOK_FAILURE_THRESHOLD`` consecutive failures marks the endpoint ``failed``;
* a 410 Gone marks it ``failed`` at once, and so does an answer its flavour documents as
  permanent (Slack's ``channel_not_found``, ``no_service``…, see :mod:`.slack`), with a reason
  naming it;
* a 410 Gone from a Zapier subscription's target removes the subscription (the Zap is gone).

A ``failed`` endpoint receives nothing more: its waiting deliveries are marked failed (they can be
re-queued with ``recover`` once it is re-enabled) and its owner is notified.

Manual attempts (retry now, test) are logged like any other but leave the schedule and the
endpoint's health alone: a test against a broken endpoint should not disable it, and one lucky
manual success should not hide a failing streak.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol

from prometheus_client import Counter as PromCounter
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import after_commit, utcnow
from aiclone.events.config import bump_config_version
from aiclone.notifications.schemas import Level
from aiclone.notifications.service import NotificationService
from aiclone.retry import next_delay
from aiclone.settings.webhooks import WebhookSettings
from aiclone.webhooks.flavours import permanent_failure, shown_url
from aiclone.webhooks.log import DeliveryLog, attempt_row
from aiclone.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    Flavour,
    WebhookDelivery,
    WebhookEndpoint,
)
from aiclone.webhooks.queue import Claim, DeliveryQueue
from aiclone.webhooks.repository import EndpointRepository
from aiclone.webhooks.sender import Outcome

logger = logging.getLogger("aiclone.webhooks")

FAILING_NOTICE_INTERVAL = dt.timedelta(hours=1)


class RetryPolicy:
    def __init__(
        self,
        *,
        schedule: tuple[float, ...],
        jitter: float,
        retry_after_max: float,
        failure_threshold: int,
        rng: random.Random | None = None,
    ) -> None:
        self.schedule = schedule
        self.jitter = jitter
        self.retry_after_max = retry_after_max
        self.failure_threshold = failure_threshold
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> RetryPolicy:
        return cls(
            schedule=settings.retry_schedule,
            jitter=settings.retry_jitter,
            retry_after_max=settings.retry_after_max_seconds,
            failure_threshold=settings.failure_threshold,
        )

    def delay(self, retries_used: int, retry_after: float | None) -> float | None:
        return next_delay(
            self.schedule,
            retries_used,
            jitter=self.jitter,
            retry_after=retry_after,
            retry_after_max=self.retry_after_max,
            rng=self.rng,
        )


def _note(delivery: WebhookDelivery, outcome: Outcome, now: dt.datetime) -> None:
    delivery.last_attempt_at = outcome.started_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.next_attempt_at = None
        delivery.finished_at = now


class SettlementCounter(Protocol):
    """Told, in the settling transaction, when deliveries reach or leave a final status.

    The analytics counters implement it (``aiclone.analytics.counters.DeliveryCounterHook``), as
    they implement the event log's hook for event counters; the container wires it in. They hold
    what ``aiclone analytics rebuild`` computes: each non-test delivery once, by its current final
    status (``succeeded`` or ``failed``), at its ``finished_at``. So a failed delivery that is
    resent by hand and succeeds moves from "failed" (at its old ``finished_at``) to "succeeded"
    (now), and one requeued by a recovery leaves "failed" until it settles again.
    """

    async def settled(
        self, session: AsyncSession, *, user_id: uuid.UUID, status: str, at: dt.datetime, by: int = 1
    ) -> None:
        """``by`` deliveries reached (or, with ``by`` < 0, left) the final ``status`` at ``at``."""
        ...

    async def unsettled(
        self, session: AsyncSession, *, user_id: uuid.UUID, status: str, times: Iterable[dt.datetime]
    ) -> None:
        """Deliveries that had settled in ``status`` at ``times`` left it (a recovery, maybe thousands)."""
        ...


# ``aiclone_webhook_deliveries_total{outcome}``: what each recorded attempt led to.
_ATTEMPT_OUTCOMES = {
    DeliveryStatus.SUCCEEDED.value: "delivered",
    DeliveryStatus.PENDING.value: "retrying",
    DeliveryStatus.FAILED.value: "failed",
}


@dataclass(eq=False)
class OutcomeRecorder:
    policy: RetryPolicy
    notifications: NotificationService
    _: KW_ONLY
    counters: SettlementCounter
    attempts: PromCounter | None = None

    def _count_after_commit(self, session: AsyncSession, outcomes: Iterable[str]) -> None:
        """The metric moves once the attempts are stored (a rolled-back batch is not counted)."""
        counter = self.attempts
        if counter is None:
            return
        tally = Counter(outcomes)

        async def count() -> None:
            for outcome, number in tally.items():
                counter.labels(outcome=outcome).inc(number)

        after_commit(session, count)

    async def record_scheduled(
        self, session: AsyncSession, worker: str, results: Sequence[tuple[Claim, Outcome]]
    ) -> int:
        """Record a batch of a worker's attempts in one transaction; returns how many were still its own.

        An attempt whose claim was lost meanwhile (lease expired and taken by another worker, or
        the delivery deleted) is dropped: the other claimant owns that delivery now. Deliveries
        are read and written with plain statements (no payloads loaded, one executemany for
        the batch): this is the worker's hot path.
        """
        # Endpoints first, then deliveries: the order every other writer (edits, deletes) takes.
        endpoints = await EndpointRepository(session).lock_many([c.endpoint_id for c, _ in results])
        held = await DeliveryQueue(session).held([(c.delivery_id, c.attempt) for c, _ in results], worker)
        kept = [
            (c, o) for c, o in results if held.get(c.delivery_id) == c.attempt and c.endpoint_id in endpoints
        ]
        if len(kept) < len(results):
            logger.warning(
                "%d webhook attempts lost their claim before being recorded", len(results) - len(kept)
            )
        if not kept:
            return 0
        now = utcnow()
        changes: list[tuple[Claim, dict[str, Any]]] = []
        unsubscribed: set[uuid.UUID] = set()
        for claim, outcome in kept:
            endpoint = endpoints[claim.endpoint_id]
            if await self._update_health(session, endpoint, outcome, now):
                unsubscribed.add(endpoint.id)
            changes.append((claim, self._change(claim, outcome, now)))
        for claim, change in changes:
            # Checked after the whole batch: a later result may have disabled the endpoint.
            _stop_if_inactive(change, endpoints[claim.endpoint_id], now)
        await DeliveryQueue(session).finish([change for _, change in changes])
        await DeliveryLog(session).add_attempts(
            [attempt_row(c.delivery_id, c.attempt, "scheduled", o) for c, o in kept]
        )
        self._count_after_commit(session, (_ATTEMPT_OUTCOMES[change["status"]] for _, change in changes))
        for claim, change in changes:
            # Settled deliveries feed the analytics counters in this same transaction.
            await self.counters.settled(
                session, user_id=endpoints[claim.endpoint_id].user_id, status=change["status"], at=now
            )
        # Zapier answered 410: the Zap is gone, so is its subscription (and its log, by cascade).
        for endpoint_id in sorted(unsubscribed):
            logger.info("zapier subscription %s removed: its target answered 410 Gone", endpoint_id)
            await EndpointRepository(session).delete(endpoints[endpoint_id])
        return len(kept)

    def _change(self, claim: Claim, outcome: Outcome, now: dt.datetime) -> dict[str, Any]:
        """What one scheduled attempt does to its delivery: done, retried later, or failed for good."""
        change: dict[str, Any] = {
            "b_id": claim.delivery_id,
            "status": DeliveryStatus.SUCCEEDED.value,
            "retries_used": claim.retries_used,
            "next_attempt_at": None,
            "finished_at": now,
            "last_attempt_at": outcome.started_at,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        if outcome.ok:
            return change
        delay = self.policy.delay(claim.retries_used, outcome.retry_after)
        if delay is None:
            change.update(
                status=DeliveryStatus.FAILED.value, last_error=f"{outcome.error}; retries exhausted"
            )
        else:
            change.update(
                status=DeliveryStatus.PENDING.value,
                retries_used=claim.retries_used + 1,
                next_attempt_at=now + dt.timedelta(seconds=delay),
                finished_at=None,
            )
        return change

    async def record_manual(
        self, session: AsyncSession, delivery: WebhookDelivery, number: int, outcome: Outcome
    ) -> None:
        now = utcnow()
        await DeliveryLog(session).add_attempts([attempt_row(delivery.id, number, "manual", outcome)])
        delivery.manual_until = None
        before = (delivery.status, delivery.finished_at)
        _note(delivery, outcome, now)
        if not outcome.ok and delivery.is_test and delivery.status == DeliveryStatus.PENDING.value:
            # A test event is sent once, while its sender watches; it is not retried.
            self._finish_failed(delivery, now, outcome.error)
        after = (delivery.status, delivery.finished_at)
        self._count_after_commit(session, ["delivered" if outcome.ok else "failed"])
        if delivery.is_test or after == before:
            return
        if before[1] is not None:
            await self.counters.settled(
                session, user_id=delivery.user_id, status=before[0], at=before[1], by=-1
            )
        if after[1] is not None:
            await self.counters.settled(session, user_id=delivery.user_id, status=after[0], at=after[1])

    async def stop_deliveries(
        self, session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str, now: dt.datetime
    ) -> int:
        """Fail the endpoint's waiting deliveries (it was paused or disabled), counted as failed."""
        stopped = await DeliveryQueue(session).stop_pending(endpoint.id, reason=reason, now=now)
        await self.counters.settled(
            session, user_id=endpoint.user_id, status=DeliveryStatus.FAILED.value, at=now, by=stopped
        )
        return stopped

    @staticmethod
    def _finish_failed(delivery: WebhookDelivery, now: dt.datetime, reason: str | None) -> None:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        delivery.finished_at = now
        delivery.last_error = (reason or "failed")[:500]

    async def _update_health(
        self, session: AsyncSession, endpoint: WebhookEndpoint, outcome: Outcome, now: dt.datetime
    ) -> bool:
        """Move the endpoint's health; True when it is a Zapier subscription to remove (410)."""
        if outcome.ok:
            endpoint.last_success_at = now
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
            return False
        endpoint.last_failure_at = now
        if endpoint.status != EndpointStatus.ACTIVE.value:
            return False
        if outcome.gone and endpoint.flavour == Flavour.ZAPIER.value:
            # Stops its waiting deliveries; the row itself goes once the batch is recorded.
            await bump_config_version(session, endpoint.user_id)
            endpoint.status = EndpointStatus.FAILED.value
            endpoint.disabled_at = now
            endpoint.disabled_reason = "Zapier answered 410 Gone: the Zap was turned off or deleted"
            await self.stop_deliveries(
                session, endpoint, reason="unsubscribed: Zapier answered 410 Gone", now=now
            )
            return True
        permanent = permanent_failure(endpoint.flavour, outcome.status_code, outcome.response_body)
        if permanent is not None:
            endpoint.consecutive_failures += 1
            endpoint.failing_since = endpoint.failing_since or now
            await self._disable(session, endpoint, now, permanent)
            return False
        endpoint.consecutive_failures += 1
        if endpoint.consecutive_failures == 1:
            endpoint.failing_since = now
            notified = endpoint.failure_notified_at
            if notified is None or now - notified >= FAILING_NOTICE_INTERVAL:
                endpoint.failure_notified_at = now
                await self._tell_owner(
                    session,
                    endpoint,
                    "failing",
                    title="Webhook endpoint is failing",
                    body=(
                        f"Deliveries to {shown_url(endpoint.flavour, endpoint.url)} started failing"
                        f" ({outcome.error}). They will be retried; after {self.policy.failure_threshold}"
                        " failures in a row the endpoint is disabled."
                    ),
                    level="warning",
                    error=outcome.error,
                )
        if outcome.gone:
            await self._disable(session, endpoint, now, "the endpoint answered 410 Gone")
        elif endpoint.consecutive_failures >= self.policy.failure_threshold:
            await self._disable(
                session,
                endpoint,
                now,
                f"{endpoint.consecutive_failures} consecutive failed deliveries (last: {outcome.error})",
            )
        return False

    async def _disable(
        self, session: AsyncSession, endpoint: WebhookEndpoint, now: dt.datetime, reason: str
    ) -> None:
        # The endpoint's row is locked (lock_many): the endpoint -> counter order of every
        # endpoint writer, before the deliveries and counters below.
        await bump_config_version(session, endpoint.user_id)
        endpoint.status = EndpointStatus.FAILED.value
        endpoint.disabled_at = now
        endpoint.disabled_reason = reason[:300]
        stopped = await self.stop_deliveries(
            session, endpoint, reason=f"endpoint disabled: {reason}", now=now
        )
        logger.warning(
            "webhook endpoint %s disabled: %s (%d deliveries stopped)", endpoint.id, reason, stopped
        )
        await self._tell_owner(
            session,
            endpoint,
            "disabled",
            title="Webhook endpoint disabled",
            body=(
                f"{shown_url(endpoint.flavour, endpoint.url)} was disabled: {reason}. {stopped} waiting"
                " deliveries were stopped. Fix the receiver, re-enable the endpoint, then recover the"
                " missed deliveries."
            ),
            level="error",
            reason=reason,
        )

    async def _tell_owner(
        self,
        session: AsyncSession,
        endpoint: WebhookEndpoint,
        state: str,
        *,
        title: str,
        body: str,
        level: Level,
        **details: str | None,
    ) -> None:
        """Notify the endpoint's owner that its health changed to ``state``, linking to it."""
        await self.notifications.notify(
            session,
            user_id=endpoint.user_id,
            title=title,
            body=body,
            level=level,
            link=f"/webhooks/{endpoint.id}",
            data={"webhook_id": str(endpoint.id), "state": state, **details},
        )


def _stop_if_inactive(change: dict[str, Any], endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    """A retry planned for an endpoint that is no longer active fails instead; errors fit the column."""
    if change["status"] == DeliveryStatus.PENDING.value and endpoint.status != EndpointStatus.ACTIVE.value:
        change.update(
            status=DeliveryStatus.FAILED.value,
            next_attempt_at=None,
            finished_at=now,
            last_error=f"{change['last_error']}; endpoint {endpoint.status}",
        )
    change["last_error"] = change["last_error"][:500] if change["last_error"] else None
