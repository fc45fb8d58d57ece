"""The delivery worker end to end: real events, real workers, a real receiver on 127.0.0.1.

Each test starts its own services (with the delivery worker running) on a fast retry schedule,
so retries, back-off, auto-disable and leases play out in well under a second per step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook

from aiclone.container import Services
from aiclone.db import utcnow
from aiclone.events.log import EventTooLarge
from aiclone.events.models import Event
from aiclone.events.types import EventType
from aiclone.notifications.models import Notification
from aiclone.retry import next_delay, parse_retry_after
from aiclone.settings.durations import parse_schedule
from aiclone.webhooks.delivery import DeliveryRetentionJob
from aiclone.webhooks.log import DeliveryLog
from aiclone.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from aiclone.webhooks.queue import DeliveryQueue
from aiclone.webhooks.schemas import WebhookCreate, WebhookCreated, WebhookPatch
from aiclone.webhooks.sender import Outcome
from aiclone.webhooks.signing import SecretBox, WebhookSecret, sign
from tests.conftest import make_settings, started_services
from tests.support.webhook_receiver import FAST_DELIVERY, Receiver, Reply

FAST: dict[str, Any] = {**FAST_DELIVERY, "webhook_failure_threshold": 100}


@asynccontextmanager
async def running(
    database_url: str, tmp_path: Path, *, workers: bool = True, **overrides: Any
) -> AsyncIterator[Services]:
    async with started_services(
        make_settings(database_url, tmp_path, **{**FAST, **overrides}), workers=workers
    ) as services:
        yield services


async def _user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"wh-{uuid.uuid4().hex[:10]}@example.com", password="a long enough passphrase 42", full_name="W"
    )
    return user.id


async def _endpoint(
    services: Services, user: uuid.UUID, url: str, types: list[str] | None = None
) -> WebhookCreated:
    return await services.webhooks.create(
        user, WebhookCreate(url=url, event_types=types or ["prospect_added"])
    )


async def _record(
    services: Services, user: uuid.UUID, n: int = 1, type: str = EventType.PROSPECT_ADDED, **data: Any
) -> None:
    async with services.db.session() as session:
        for i in range(n):
            await services.events.record(session, user_id=user, type=type, data={"n": i, **data})


async def _deliveries(services: Services, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    async with services.db.read_session() as session:
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        return list((await session.scalars(query.order_by(WebhookDelivery.created_at))).all())


async def _attempts(services: Services, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    async with services.db.read_session() as session:
        return await DeliveryLog(session).attempts(delivery_id)


async def _until(predicate: Any, timeout: float = 15.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(0.02)


async def _finished(services: Services, endpoint_id: uuid.UUID, count: int) -> list[WebhookDelivery]:
    async def check() -> list[WebhookDelivery] | None:
        rows = await _deliveries(services, endpoint_id)
        done = [d for d in rows if d.status in ("succeeded", "failed")]
        return rows if len(done) >= count else None

    result: list[WebhookDelivery] = await _until(check)
    return result


async def _endpoint_row(services: Services, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    async with services.db.read_session() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
    assert row is not None
    return row


async def _notifications(services: Services, user: uuid.UUID) -> list[Notification]:
    async with services.db.read_session() as session:
        query = select(Notification).where(Notification.user_id == user).order_by(Notification.created_at)
        return list((await session.scalars(query)).all())


async def test_body_headers_signature_and_subscriptions(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with running(database_url, tmp_path) as services:
        user = await _user(services)
        prospects = await _endpoint(services, user, receiver.url("/prospects"), ["prospect_added"])
        everything = await _endpoint(services, user, receiver.url("/all"), ["*"])
        paused = await _endpoint(services, user, receiver.url("/paused"), ["*"])
        await services.webhooks.patch(user, paused.id, WebhookPatch(status="inactive"))
        await _record(services, user, 2, name="Ada")
        await _record(services, user, 1, type=EventType.TASK_UPDATE)
        # prospect_added x2 (+2 derived activity events) and task_update x1 (no activity line).
        await receiver.wait_for(2, "/prospects")
        await receiver.wait_for(5, "/all")
        await _finished(services, everything.id, 5)

    got = receiver.received("/prospects")
    for request in got:
        body = request.verify(prospects.secret)
        assert body["type"] == "prospect_added"
        assert body["data"]["name"] == "Ada"
        # Compact JSON, exactly the three envelope fields, in this order.
        assert request.body.startswith(b'{"type":"prospect_added","timestamp":"')
        assert b", " not in request.body
        assert b": " not in request.body
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("aiclone-webhooks/")
        assert request.msg_id.startswith("msg_")
        assert abs(int(request.headers["webhook-timestamp"]) - request.at) < 60
    kinds = sorted(r.verify(everything.secret)["type"] for r in receiver.received("/all"))
    assert kinds == ["activity", "activity", "prospect_added", "prospect_added", "task_update"]
    assert receiver.received("/paused") == []
    rows = await _deliveries(services, prospects.id)
    assert {f"msg_{d.id.hex}" for d in rows} == {r.msg_id for r in got}
    assert all(d.status == "succeeded" and d.attempts == 1 and d.finished_at is not None for d in rows)


async def test_retries_keep_the_webhook_id_and_a_success_resets_the_streak(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(500, b"down"), Reply(502), default=Reply(200))
    async with running(database_url, tmp_path) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user)
        [delivery] = await _finished(services, hook.id, 1)
        attempts = await _attempts(services, delivery.id)
        endpoint = await _endpoint_row(services, hook.id)
        notes = await _notifications(services, user)
    assert delivery.status == "succeeded"
    assert [(a.number, a.trigger, a.status_code, a.error_class) for a in attempts] == [
        (1, "scheduled", 500, "http"),
        (2, "scheduled", 502, "http"),
        (3, "scheduled", 200, None),
    ]
    assert attempts[0].response_body == "down"
    got = receiver.received("/hook")
    assert len({r.msg_id for r in got}) == 1
    assert len({r.body for r in got}) == 1
    for r in got:
        r.verify(hook.secret)
    assert endpoint.consecutive_failures == 0
    assert endpoint.failing_since is None
    assert endpoint.status == "active"
    assert [n.title for n in notes] == ["Webhook endpoint is failing"]


async def test_exhausted_schedule_fails_the_delivery(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", default=Reply(503))
    async with running(database_url, tmp_path) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user)
        [delivery] = await _finished(services, hook.id, 1)
        attempts = await _attempts(services, delivery.id)
    assert delivery.status == "failed"
    assert delivery.attempts == 4  # the first attempt and the three scheduled retries
    assert "retries exhausted" in (delivery.last_error or "")
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert len(receiver.received()) == 4


async def test_retry_after_is_honoured_within_bounds(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    http_date = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90), usegmt=True)
    receiver.script("/seconds", default=Reply(429, headers={"Retry-After": "120"}))
    receiver.script("/date", default=Reply(503, headers={"Retry-After": http_date}))
    receiver.script("/huge", default=Reply(503, headers={"Retry-After": "999999"}))
    receiver.script("/tiny", default=Reply(503, headers={"Retry-After": "0"}))
    async with running(database_url, tmp_path, webhook_retry_after_max_seconds=600) as services:
        user = await _user(services)
        hooks = {
            path: await _endpoint(services, user, receiver.url(path))
            for path in ("/seconds", "/date", "/huge", "/tiny")
        }
        await _record(services, user)
        waits: dict[str, float] = {}
        for path, hook in hooks.items():
            if path == "/tiny":
                continue

            async def first_recorded(endpoint_id: uuid.UUID = hook.id) -> list[WebhookDelivery] | None:
                rows = await _deliveries(services, endpoint_id)
                return rows if rows and rows[0].last_attempt_at is not None else None

            [delivery] = await _until(first_recorded)
            assert delivery.status == "pending"
            assert delivery.next_attempt_at is not None
            assert delivery.last_attempt_at is not None
            waits[path] = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        # "Retry-After: 0" is raised to the 1 s floor; the delivery is tried again after it.
        await receiver.wait_for(2, "/tiny")
    assert 119 <= waits["/seconds"] <= 122
    assert 80 <= waits["/date"] <= 92
    assert 599 <= waits["/huge"] <= 602
    tiny = receiver.received("/tiny")
    assert tiny[1].at - tiny[0].at >= 1.0


async def test_gone_disables_the_endpoint_at_once(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", default=Reply(410))
    async with running(database_url, tmp_path) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user)
        [delivery] = await _finished(services, hook.id, 1)
        endpoint = await _endpoint_row(services, hook.id)
        await _record(services, user, 3)
        later = await _deliveries(services, hook.id)
        notes = await _notifications(services, user)
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert endpoint.status == "failed"
    assert "410" in (endpoint.disabled_reason or "")
    assert len(later) == 1  # a failed endpoint gets no new deliveries
    assert len(receiver.received()) == 1
    assert [n.title for n in notes] == ["Webhook endpoint is failing", "Webhook endpoint disabled"]


async def test_auto_disable_after_consecutive_failures_then_reenable(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", default=Reply(500))
    async with running(
        database_url,
        tmp_path,
        webhook_failure_threshold=5,
        webhook_retry_schedule="50ms,50ms,50ms,50ms,50ms,50ms",
    ) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user, 2)
        rows = await _finished(services, hook.id, 2)
        endpoint = await _endpoint_row(services, hook.id)
        notes = await _notifications(services, user)
        assert endpoint.status == "failed"
        assert endpoint.consecutive_failures == 5
        assert "5 consecutive failed deliveries" in (endpoint.disabled_reason or "")
        assert {d.status for d in rows} == {"failed"}
        # Failures count across deliveries. An attempt already in flight when the fifth failure
        # disabled the endpoint may still land; nothing is claimed after that.
        sent = len(receiver.received())
        assert sent == sum(d.attempts for d in rows)
        assert 5 <= sent <= 6
        assert [(n.title, n.level) for n in notes] == [
            ("Webhook endpoint is failing", "warning"),
            ("Webhook endpoint disabled", "error"),
        ]
        assert notes[1].data is not None
        assert notes[1].data["webhook_id"] == str(hook.id)

        # Re-enabled by its owner, and the receiver fixed: deliveries flow and the streak is clear.
        receiver.script("/hook", default=Reply(200))
        reenabled = await services.webhooks.patch(user, hook.id, WebhookPatch(status="active"))
        assert reenabled.status == "active"
        assert reenabled.consecutive_failures == 0
        assert reenabled.disabled_reason is None
        await _record(services, user)
        await receiver.wait_for(6)
        await _finished(services, hook.id, 3)
        endpoint = await _endpoint_row(services, hook.id)
    assert endpoint.status == "active"
    assert endpoint.consecutive_failures == 0
    assert endpoint.last_success_at is not None


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


async def test_error_classes_timeout_connect_dns_tls(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver, closed_port: int
) -> None:
    # The slow endpoint never answers while the test runs, so its attempt can only time out; the
    # timeout leaves the other three (refused, unresolvable, not TLS) ample time to fail on their
    # own, and the lease outlasts the whole test, so no attempt is ever taken over as interrupted.
    gate = threading.Event()
    receiver.script("/slow", default=Reply(200, gate=gate))

    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    try:
        async with running(
            database_url,
            tmp_path,
            webhook_retry_schedule="10m",
            webhook_timeout_seconds=3.0,
            webhook_connect_timeout_seconds=3.0,
            webhook_lease_seconds=300.0,
        ) as services:
            services.webhooks.network.resolver = no_such_host
            user = await _user(services)
            urls = {
                "timeout": receiver.url("/slow"),
                "connect": f"http://127.0.0.1:{closed_port}/hook",
                "dns": f"http://receiver.test:{receiver.port}/hook",
                "tls": f"https://127.0.0.1:{receiver.port}/tls",
            }
            hooks = {kind: await _endpoint(services, user, url) for kind, url in urls.items()}
            await _record(services, user)
            classes: dict[str, str | None] = {}
            for kind, hook in hooks.items():

                async def attempted(endpoint_id: uuid.UUID = hook.id) -> list[WebhookAttempt] | None:
                    rows = await _deliveries(services, endpoint_id)
                    return await _attempts(services, rows[0].id) if rows and rows[0].attempts else None

                [attempt] = await _until(attempted, timeout=60.0)
                classes[kind] = attempt.error_class
                assert attempt.status_code is None
                assert attempt.error
    finally:
        gate.set()
    assert classes == {"timeout": "timeout", "connect": "connect", "dns": "dns", "tls": "tls"}


async def test_redirects_are_not_followed(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", default=Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    async with running(database_url, tmp_path, webhook_retry_schedule="10m") as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user)

        async def attempted() -> list[WebhookAttempt] | None:
            rows = await _deliveries(services, hook.id)
            return await _attempts(services, rows[0].id) if rows and rows[0].attempts else None

        [attempt] = await _until(attempted)
    assert attempt.status_code == 302
    assert attempt.error_class == "http"
    assert "redirects are not followed" in (attempt.error or "")
    assert receiver.received("/elsewhere") == []


async def test_a_hanging_endpoint_does_not_hold_up_the_others(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    gate = threading.Event()
    receiver.script("/hang", default=Reply(200, gate=gate))
    try:
        async with running(
            database_url,
            tmp_path,
            webhook_endpoint_concurrency=2,
            webhook_timeout_seconds=20.0,
            webhook_lease_seconds=25.0,
        ) as services:
            user = await _user(services)
            await _endpoint(services, user, receiver.url("/hang"))
            healthy = await _endpoint(services, user, receiver.url("/ok"))
            for _ in range(4):
                await _record(services, user, 5)
            await receiver.wait_for(20, "/ok")
            # Every healthy delivery went through while the hanging endpoint held exactly its cap.
            assert len(receiver.received("/hang")) == 2
            rows = await _finished(services, healthy.id, 20)
            assert {d.status for d in rows} == {"succeeded"}
            gate.set()
            await receiver.wait_for(20, "/hang")
    finally:
        gate.set()


async def test_an_expired_lease_is_taken_over_and_the_lost_attempt_logged(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with running(database_url, tmp_path, workers=False) as idle:
        user = await _user(idle)
        hook = await _endpoint(idle, user, receiver.url())
        await _record(idle, user)
        # A worker claims the delivery and dies: its lease runs out unrecorded.
        now = utcnow()
        async with idle.db.session() as session:
            claims, _ = await DeliveryQueue(session).claim(
                worker="dead-worker",
                now=now,
                lease_until=now + dt.timedelta(milliseconds=300),
                limit=10,
                skip_endpoints=[],
                room={},
                default_room=10,
                lease_length=dt.timedelta(milliseconds=300),
            )
        assert len(claims) == 1
        async with running(database_url, tmp_path) as services:
            [delivery] = await _finished(services, hook.id, 1)
            attempts = await _attempts(services, delivery.id)
            # The dead worker's late report is refused: the delivery is no longer its own.
            async with services.db.session() as session:
                late = await services.webhook_worker.recorder.record_scheduled(
                    session, "dead-worker", [(claims[0], Outcome(utcnow(), 5, 200))]
                )
    assert late == 0
    assert delivery.status == "succeeded"
    assert [(a.number, a.error_class) for a in attempts] == [(1, "interrupted"), (2, None)]
    assert len(receiver.received()) == 1


async def test_two_workers_never_send_the_same_attempt(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with running(database_url, tmp_path, workers=False) as producer:
        user = await _user(producer)
        hooks = [await _endpoint(producer, user, receiver.url(f"/h{i}")) for i in range(3)]
        # Leases that no stall of a loaded machine outlives: an expired lease hands its attempt
        # on by design (at-least-once), which is not what this test is about.
        long_lease = {"webhook_lease_seconds": 120.0}
        async with (
            running(database_url, tmp_path / "a", **long_lease) as one,
            running(database_url, tmp_path / "b", **long_lease) as two,
        ):
            for _ in range(10):
                await _record(producer, user, 10)
            await receiver.wait_for(300)
            for hook in hooks:
                await _finished(one, hook.id, 100)
            assert one.webhook_worker.worker_id != two.webhook_worker.worker_id
        rows = [d for hook in hooks for d in await _deliveries(producer, hook.id)]
    got = receiver.received()
    assert len(rows) == 300
    assert len(got) == 300
    assert len({r.msg_id for r in got}) == 300
    assert {d.status for d in rows} == {"succeeded"}
    # Each attempt number is claimed by one worker only; a second attempt happens only when the
    # first failed (on a loaded machine a local request can time out), never as a double send.
    assert all(d.attempts >= 1 for d in rows)


async def test_a_rolled_back_event_creates_no_delivery(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with running(database_url, tmp_path) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url(), ["*"])
        with pytest.raises(RuntimeError):
            async with services.db.session() as session:
                await services.events.record(
                    session, user_id=user, type=EventType.PROSPECT_ADDED, data={"x": 1}
                )
                raise RuntimeError("the change failed")
        await _record(services, user, type=EventType.TASK_UPDATE)
        await _finished(services, hook.id, 1)
        rows = await _deliveries(services, hook.id)
    assert [d.event_type for d in rows] == ["task_update"]
    assert [msgspec.json.decode(r.body)["type"] for r in receiver.received()] == ["task_update"]


async def test_payload_over_the_webhook_limit_is_refused_at_event_creation(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with running(database_url, tmp_path, webhook_max_payload_bytes=2048) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        with pytest.raises(EventTooLarge) as refused:
            await _record(services, user, blob="x" * 3000)
        assert "limit is 2048 bytes" in refused.value.detail
        assert refused.value.status == 422
        # Refused with or without a listening endpoint, and nothing of it was kept.
        other = await _user(services)
        with pytest.raises(EventTooLarge):
            await _record(services, other, blob="x" * 3000)
        async with services.db.read_session() as session:
            events = await session.scalar(select(func.count()).select_from(Event))
        await _record(services, user, blob="x" * 1000)
        [delivery] = await _finished(services, hook.id, 1)
    assert events == 0
    assert delivery.status == "succeeded"


# --- the pure parts: schedule, Retry-After, signatures, sealed secrets --------------------------


def test_schedule_parsing_and_jittered_delays() -> None:
    assert parse_schedule("5s,5m,30m,2h,5h,10h,10h") == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert parse_schedule("250ms, 1.5s,2") == (0.25, 1.5, 2.0)
    for bad in ("", "5x", "-1s", "0s", "8d", ",".join(["1s"] * 51)):
        with pytest.raises(ValueError, match=r"duration|at most|at least"):
            parse_schedule(bad)
    rng = random.Random(7)
    delays = [next_delay((100.0,), 0, jitter=0.1, rng=rng) for _ in range(200)]
    assert all(d is not None and 90.0 <= d <= 110.0 for d in delays)
    assert len({round(d or 0, 3) for d in delays}) > 100
    assert next_delay((100.0,), 1, jitter=0.1) is None
    assert next_delay((100.0,), 0, jitter=0.1, retry_after=5000, retry_after_max=600) == 600
    assert next_delay((100.0,), 0, jitter=0.1, retry_after=0, retry_after_max=600) == 1.0
    assert next_delay((100.0,), 1, jitter=0.0, retry_after=5) is None


def test_retry_after_header_forms() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:02:00 GMT", now) == 120
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_signatures_match_the_standard_webhooks_library() -> None:
    secret = WebhookSecret.generate()
    body = b'{"type":"activity","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ours = sign(secret.key, "msg_1", int(when.timestamp()), body)
    assert ours == Webhook(secret.reveal()).sign("msg_1", when, body.decode())
    assert secret.reveal() not in repr(secret)
    assert secret.reveal() not in f"{secret}"
    assert repr(secret).startswith("WebhookSecret(whsec_")


def test_sealed_secrets_open_only_with_the_same_key_and_endpoint() -> None:
    box = SecretBox("application-secret-" + "k" * 32)
    endpoint = uuid.uuid4()
    secret = WebhookSecret.generate()
    sealed = box.seal(endpoint, secret)
    assert secret.reveal() not in sealed
    assert secret.reveal().removeprefix("whsec_") not in sealed
    assert box.open(endpoint, sealed) == secret
    with pytest.raises(ValueError, match="cannot be opened"):
        box.open(uuid.uuid4(), sealed)
    with pytest.raises(ValueError, match="cannot be opened"):
        SecretBox("another-secret-" + "k" * 32).open(endpoint, sealed)


async def test_retention_prunes_old_finished_deliveries_only(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script("/hook", default=Reply(200))
    async with running(database_url, tmp_path, workers=False) as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user, 3)
        rows = await _deliveries(services, hook.id)
        old = utcnow() - dt.timedelta(days=40)
        async with services.db.session() as session:
            # Two are old: one finished, one still pending. One is recent and finished.
            for row, status, created in zip(
                rows, ["succeeded", "pending", "failed"], [old, old, utcnow()], strict=True
            ):
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == row.id)
                    .values(status=status, created_at=created)
                )
        removed = await DeliveryRetentionJob(services.db, max_age=dt.timedelta(days=30)).prune_once()
        left = {d.id: d.status for d in await _deliveries(services, hook.id)}
    assert removed == 1
    assert left == {rows[1].id: "pending", rows[2].id: "failed"}


async def _delivery_counters(services: Services, user: uuid.UUID) -> dict[tuple[int, int, str], int]:
    from aiclone.analytics.models import AnalyticsCounter

    async with services.db.read_session() as session:
        rows = await session.execute(
            select(
                AnalyticsCounter.grain,
                AnalyticsCounter.bucket_start,
                AnalyticsCounter.metric,
                AnalyticsCounter.count,
            ).where(AnalyticsCounter.user_id == user, AnalyticsCounter.metric.like("webhook_deliveries_%"))
        )
        return {(g, b, m): c for g, b, m, c in rows if c}


async def test_delivery_counters_match_a_rebuild_on_every_path(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    """Scheduled failures, a manual resend that succeeds, a pause that stops waiting deliveries
    and a recovery each move the counters exactly as ``aiclone analytics rebuild`` computes them."""
    from aiclone.analytics.rebuild import rebuild

    receiver.script("/hook", default=Reply(500))
    async with running(database_url, tmp_path, webhook_retry_schedule="50ms") as services:
        user = await _user(services)
        hook = await _endpoint(services, user, receiver.url())
        await _record(services, user, 2)
        failed = await _finished(services, hook.id, 2)
        assert {d.status for d in failed} == {"failed"}
        assert sum((await _delivery_counters(services, user)).values()) == 2 * 5  # 5 grains each

        # A manual resend that succeeds: failed → succeeded.
        receiver.script("/hook", default=Reply(200))
        resent = await services.webhooks.retry(user, hook.id, failed[0].id)
        assert resent.status == "succeeded"
        live = await _delivery_counters(services, user)
        assert {m for (_, _, m) in live} == {"webhook_deliveries_failed", "webhook_deliveries_succeeded"}
        assert live == await _rebuilt(services, user, rebuild)

        # Recovery requeues the other failed one; it leaves "failed" and settles as succeeded.
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        assert (await services.webhooks.recover(user, hook.id, since, None)).requeued == 1
        await _until(lambda: _all_succeeded(services, hook.id))
        live = await _delivery_counters(services, user)
        assert {m for (_, _, m) in live} == {"webhook_deliveries_succeeded"}
        assert live == await _rebuilt(services, user, rebuild)

    # Pausing the endpoint with deliveries waiting fails them.
    async with running(database_url, tmp_path / "paused", workers=False) as services:
        await _record(services, user, 3)
        await services.webhooks.patch(user, hook.id, WebhookPatch(status="paused"))
        rows = await _deliveries(services, hook.id)
        assert sorted(d.status for d in rows) == ["failed"] * 3 + ["succeeded"] * 2
        live = await _delivery_counters(services, user)
        assert sum(c for (_, _, m), c in live.items() if m == "webhook_deliveries_failed") == 3 * 5
        assert live == await _rebuilt(services, user, rebuild)


async def _all_succeeded(services: Services, endpoint_id: uuid.UUID) -> bool:
    return {d.status for d in await _deliveries(services, endpoint_id)} == {"succeeded"}


async def _rebuilt(services: Services, user: uuid.UUID, rebuild: Any) -> dict[tuple[int, int, str], int]:
    await rebuild(services.db, user_id=user)
    return await _delivery_counters(services, user)
