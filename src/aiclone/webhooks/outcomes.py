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
from typing import Any, Literal

from prometheus_client import Counter as PromCounter
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.analytics.counters import bump
from aiclone.analytics.metrics import FINEST_GRAIN, Metric
from aiclone.analytics.periods import from_epoch, to_epoch
from aiclone.db import after_commit, utcnow
from aiclone.notifications.service import NotificationService
from aiclone.settings.webhooks import WebhookSettings
from aiclone.webhooks.flavours import permanent_failure, shown_url
from aiclone.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    Flavour,
    WebhookDelivery,
    WebhookEndpoint,
)
from aiclone.webhooks.repository import Claimed, DeliveryRepository, EndpointRepository
from aiclone.webhooks.retry import next_delay
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


def attempt_row(
    delivery_id: Any, number: int, trigger: Literal["scheduled", "manual"], outcome: Outcome
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "number": number,
        "trigger": trigger,
        "started_at": outcome.started_at,
        "duration_ms": outcome.duration_ms,
        "status_code": outcome.status_code,
        "error_class": outcome.error_class,
        "error": outcome.error,
        "response_body": outcome.response_body,
        "remote_address": outcome.remote_address,
    }


def _note(delivery: WebhookDelivery, outcome: Outcome, now: dt.datetime) -> None:
    delivery.last_attempt_at = outcome.started_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.next_attempt_at = None
        delivery.finished_at = now


_SETTLED_METRICS = {
    DeliveryStatus.SUCCEEDED.value: Metric.WEBHOOK_DELIVERIES_SUCCEEDED,
    DeliveryStatus.FAILED.value: Metric.WEBHOOK_DELIVERIES_FAILED,
}


async def count_settled(
    session: AsyncSession, *, user_id: uuid.UUID, status: str, at: dt.datetime, by: int = 1
) -> None:
    """Move the delivery counters for ``by`` deliveries that reached (or, with ``by`` < 0, left)
    the final ``status`` at ``at``.

    The counters hold what ``aiclone analytics rebuild`` computes: each non-test delivery once,
    by its current final status, at its ``finished_at``. So a failed delivery that is resent by
    hand and succeeds moves from "failed" (at its old ``finished_at``) to "succeeded" (now), and
    one requeued by a recovery leaves "failed" until it settles again.
    """
    metric = _SETTLED_METRICS.get(status)
    if metric is not None and by:
        await bump(session, user_id=user_id, metric=metric, at=at, by=by)


async def uncount_settled(
    session: AsyncSession, *, user_id: uuid.UUID, status: str, times: Iterable[dt.datetime]
) -> None:
    """Take deliveries that had settled at ``times`` out of ``status``: one counter update per
    finest bucket, not one per delivery (a recovery may requeue thousands). Every grain is a
    multiple of the finest, so the bucket's start lands in the same coarser buckets."""
    buckets = Counter(from_epoch(s - s % FINEST_GRAIN) for s in map(to_epoch, times))
    for at, count in buckets.items():
        await count_settled(session, user_id=user_id, status=status, at=at, by=-count)


# ``aiclone_webhook_deliveries_total{outcome}``: what each recorded attempt led to.
_ATTEMPT_OUTCOMES = {
    DeliveryStatus.SUCCEEDED.value: "delivered",
    DeliveryStatus.PENDING.value: "retrying",
    DeliveryStatus.FAILED.value: "failed",
}


class OutcomeRecorder:
    def __init__(
        self,
        policy: RetryPolicy,
        notifications: NotificationService,
        *,
        attempts: PromCounter | None = None,
    ) -> None:
        self.policy = policy
        self.notifications = notifications
        self.attempts = attempts

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
        self, session: AsyncSession, worker: str, results: Sequence[tuple[Claimed, Outcome]]
    ) -> int:
        """Record a batch of a worker's attempts in one transaction; returns how many were still its own.

        An attempt whose claim was lost meanwhile (lease expired and taken by another worker, or
        the delivery deleted) is dropped: the other claimant owns that delivery now. Deliveries
        are read and written with plain statements (no payloads loaded, one executemany for
        the batch): this is the worker's hot path.
        """
        deliveries = DeliveryRepository(session)
        # Endpoints first, then deliveries: the order every other writer (edits, deletes) takes.
        endpoints = await EndpointRepository(session).lock_many([c.endpoint_id for c, _ in results])
        held = await deliveries.held([(c.delivery_id, c.attempt) for c, _ in results], worker)
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
        attempts: list[dict[str, Any]] = []
        changes: list[tuple[Claimed, dict[str, Any]]] = []
        unsubscribed: set[uuid.UUID] = set()
        for claim, outcome in kept:
            attempts.append(attempt_row(claim.delivery_id, claim.attempt, "scheduled", outcome))
            endpoint = endpoints[claim.endpoint_id]
            if await self._update_health(session, endpoint, outcome, now):
                unsubscribed.add(endpoint.id)
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
            changes.append((claim, change))
            if outcome.ok:
                continue
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
        for claim, change in changes:
            # Checked after the whole batch: a later result may have disabled the endpoint.
            endpoint = endpoints[claim.endpoint_id]
            if (
                change["status"] == DeliveryStatus.PENDING.value
                and endpoint.status != EndpointStatus.ACTIVE.value
            ):
                change.update(
                    status=DeliveryStatus.FAILED.value,
                    next_attempt_at=None,
                    finished_at=now,
                    last_error=f"{change['last_error']}; endpoint {endpoint.status}",
                )
            change["last_error"] = change["last_error"][:500] if change["last_error"] else None
        await deliveries.finish_claims([change for _, change in changes])
        await deliveries.add_attempts(attempts)
        self._count_after_commit(session, (_ATTEMPT_OUTCOMES[change["status"]] for _, change in changes))
        for claim, change in changes:
            # Settled deliveries feed the analytics counters in this same transaction.
            await count_settled(
                session, user_id=endpoints[claim.endpoint_id].user_id, status=change["status"], at=now
            )
        if unsubscribed:
            # Zapier answered 410: the Zap is gone, so is its subscription (and its log, by cascade).
            repo = EndpointRepository(session)
            for endpoint_id in sorted(unsubscribed):
                logger.info("zapier subscription %s removed: its target answered 410 Gone", endpoint_id)
                await repo.delete(endpoints[endpoint_id])
        return len(kept)

    async def record_manual(
        self, session: AsyncSession, delivery: WebhookDelivery, number: int, outcome: Outcome
    ) -> None:
        now = utcnow()
        await DeliveryRepository(session).add_attempts([attempt_row(delivery.id, number, "manual", outcome)])
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
            await count_settled(session, user_id=delivery.user_id, status=before[0], at=before[1], by=-1)
        if after[1] is not None:
            await count_settled(session, user_id=delivery.user_id, status=after[0], at=after[1])

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
            endpoint.status = EndpointStatus.FAILED.value
            endpoint.disabled_at = now
            endpoint.disabled_reason = "Zapier answered 410 Gone: the Zap was turned off or deleted"
            stopped = await DeliveryRepository(session).stop_pending(
                endpoint.id, reason="unsubscribed: Zapier answered 410 Gone", now=now
            )
            await count_settled(
                session, user_id=endpoint.user_id, status=DeliveryStatus.FAILED.value, at=now, by=stopped
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
                await self.notifications.notify(
                    session,
                    user_id=endpoint.user_id,
                    title="Webhook endpoint is failing",
                    body=(
                        f"Deliveries to {shown_url(endpoint.flavour, endpoint.url)} started failing"
                        f" ({outcome.error}). They will be retried; after {self.policy.failure_threshold}"
                        " failures in a row the endpoint is disabled."
                    ),
                    level="warning",
                    link=f"/webhooks/{endpoint.id}",
                    data={"webhook_id": str(endpoint.id), "state": "failing", "error": outcome.error},
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
        endpoint.status = EndpointStatus.FAILED.value
        endpoint.disabled_at = now
        endpoint.disabled_reason = reason[:300]
        stopped = await DeliveryRepository(session).stop_pending(
            endpoint.id, reason=f"endpoint disabled: {reason}", now=now
        )
        await count_settled(
            session, user_id=endpoint.user_id, status=DeliveryStatus.FAILED.value, at=now, by=stopped
        )
        logger.warning(
            "webhook endpoint %s disabled: %s (%d deliveries stopped)", endpoint.id, reason, stopped
        )
        await self.notifications.notify(
            session,
            user_id=endpoint.user_id,
            title="Webhook endpoint disabled",
            body=(
                f"{shown_url(endpoint.flavour, endpoint.url)} was disabled: {reason}. {stopped} waiting"
                " deliveries were stopped. Fix the receiver, re-enable the endpoint, then recover the"
                " missed deliveries."
            ),
            level="error",
            link=f"/webhooks/{endpoint.id}",
            data={"webhook_id": str(endpoint.id), "state": "disabled", "reason": reason},
        )
