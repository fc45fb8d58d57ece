"""Chaos: two ``aiclone worker`` processes on PostgreSQL, a receiver that fails at random, and
``kill -9`` of a random worker (restarted at once) while events keep being committed and rolled
back. Afterwards every committed event's deliveries are accounted for, nothing was lost, nothing
of a rolled-back event was sent, and the only duplicates are retries of the same webhook-id.

Bounded: 8 s of traffic and kills, then at most 25 s for the backlog to settle.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from aiclone.container import Services
from aiclone.events.models import Event
from aiclone.events.types import EventType
from aiclone.settings import Settings
from aiclone.webhooks.hook import subscribed
from aiclone.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from aiclone.webhooks.schemas import WebhookCreate
from tests.conftest import TEST_SECRET, make_settings
from tests.support.webhook_receiver import Received, Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]
TRAFFIC_SECONDS = 8.0
SETTLE_SECONDS = 25.0

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, webhook_allow_private=True)


def _worker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}",
        "AICLONE_ENV": "test",
        "AICLONE_DATABASE_URL": database_url,
        "AICLONE_DATA_DIR": str(data_dir),
        "AICLONE_SECRET_KEY": TEST_SECRET,
        "AICLONE_AUTO_MIGRATE": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
        "AICLONE_WEBHOOK_ALLOW_PRIVATE": "true",
        "AICLONE_WEBHOOK_RETRY_SCHEDULE": "100ms,200ms,300ms,400ms,500ms",
        "AICLONE_WEBHOOK_RETRY_JITTER": "0.2",
        "AICLONE_WEBHOOK_TIMEOUT_SECONDS": "1",
        "AICLONE_WEBHOOK_CONNECT_TIMEOUT_SECONDS": "0.5",
        "AICLONE_WEBHOOK_LEASE_SECONDS": "4",
        "AICLONE_WEBHOOK_POLL_SECONDS": "0.3",
        "AICLONE_WEBHOOK_FAILURE_THRESHOLD": "10000",
    }


class Workers:
    def __init__(self, env: dict[str, str], count: int, log: Path) -> None:
        self.env = env
        # Worker logs go to the test's temporary folder, kept by pytest for a failed run.
        self.log = log.open("ab")
        self.procs: list[subprocess.Popen[bytes]] = [self._spawn() for _ in range(count)]
        self.kills = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "aiclone", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert b"running" in line, line
            assert time.monotonic() < deadline

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.procs))
        victim = self.procs[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.procs[index] = self._spawn()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


def _flaky(rng: random.Random) -> Any:
    def behave(_: Received) -> Reply:
        roll = rng.random()
        if roll < 0.25:
            return Reply(500, b"random failure")
        if roll < 0.30:
            return Reply(200, delay=1.5)  # answered after the sender's 1 s timeout
        return Reply(200)

    return behave


async def test_every_committed_event_is_accounted_for_under_worker_kills(
    services: Services, backend: str, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    if backend != "postgresql":
        pytest.skip("several worker processes claiming together is the PostgreSQL deployment")
    rng = random.Random(20261127)
    receiver.behave("/a", _flaky(rng))
    receiver.behave("/b", _flaky(rng))

    users = []
    secrets: dict[uuid.UUID, str] = {}
    for i in range(3):
        user = await services.auth.register(
            email=f"chaos{i}-{uuid.uuid4().hex[:6]}@example.com",
            password="a long enough passphrase 42",
            full_name="C",
        )
        users.append(user.id)
        everything = await services.webhooks.create(
            user.id, WebhookCreate(url=receiver.url("/a"), event_types=["*"])
        )
        prospects = await services.webhooks.create(
            user.id, WebhookCreate(url=receiver.url("/b"), event_types=["prospect_added"])
        )
        secrets[everything.id] = everything.secret
        secrets[prospects.id] = prospects.secret

    workers = Workers(_worker_env(database_url, tmp_path), 2, tmp_path / "workers.log")
    rolled_back_tokens: set[str] = set()
    try:
        await asyncio.to_thread(workers.wait_ready)
        started = time.monotonic()
        next_kill = started + rng.uniform(0.8, 2.0)
        while time.monotonic() - started < TRAFFIC_SECONDS:
            user = rng.choice(users)
            tokens = [uuid.uuid4().hex for _ in range(rng.randint(1, 3))]
            abort = rng.random() < 0.2
            try:
                async with services.db.session() as session:
                    for token in tokens:
                        kind = rng.choice([EventType.PROSPECT_ADDED, EventType.TASK_UPDATE])
                        await services.events.record(session, user_id=user, type=kind, data={"token": token})
                    if abort:
                        raise RuntimeError("rolled back on purpose")
            except RuntimeError:
                rolled_back_tokens.update(tokens)
            if time.monotonic() >= next_kill:
                await asyncio.to_thread(workers.kill_one, rng)
                next_kill = time.monotonic() + rng.uniform(0.8, 2.0)
            await asyncio.sleep(rng.uniform(0.005, 0.03))

        async def open_deliveries() -> int:
            async with services.db.read_session() as session:
                query = select(func.count()).select_from(WebhookDelivery)
                return int(
                    await session.scalar(query.where(WebhookDelivery.status.in_(["pending", "sending"]))) or 0
                )

        settle_deadline = time.monotonic() + SETTLE_SECONDS
        while await open_deliveries() and time.monotonic() < settle_deadline:
            await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(workers.stop)

    async with services.db.read_session() as session:
        events = (await session.execute(select(Event.user_id, Event.seq, Event.type, Event.data))).all()
        endpoints = (
            await session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.user_id, WebhookEndpoint.event_types)
            )
        ).all()
        deliveries = (await session.scalars(select(WebhookDelivery))).all()
        attempt_rows = (
            await session.execute(
                select(WebhookAttempt.delivery_id, WebhookAttempt.number, WebhookAttempt.error_class)
            )
        ).all()

    # Nothing missing, nothing extra: one delivery per committed event and subscribed endpoint.
    expected = {
        (e.user_id, e.seq, ep.id)
        for e in events
        for ep in endpoints
        if ep.user_id == e.user_id and subscribed(list(ep.event_types), e.type)
    }
    created = {(d.user_id, d.event_seq, d.endpoint_id) for d in deliveries}
    assert created == expected
    assert len(deliveries) == len(expected) >= 30

    status = Counter(d.status for d in deliveries)
    assert set(status) <= {"succeeded", "failed", "pending", "sending"}
    delivered, exhausted = status["succeeded"], status["failed"]
    pending = status["pending"] + status["sending"]
    assert delivered + exhausted + pending == len(deliveries)
    assert pending == 0, status  # everything settled within the bound

    # Every attempt number was handed out once and logged once (outcome or interrupted).
    per_delivery = defaultdict(list)
    for row in attempt_rows:
        per_delivery[row.delivery_id].append(row.number)
    by_id = {d.id: d for d in deliveries}
    for delivery_id, numbers in per_delivery.items():
        assert sorted(numbers) == list(range(1, by_id[delivery_id].attempts + 1))
    interrupted = sum(1 for row in attempt_rows if row.error_class == "interrupted")

    # The receiver's view: all signed, nothing unknown, nothing rolled back, duplicates only as retries.
    received = receiver.received()
    known = {f"msg_{d.id.hex}": d for d in deliveries}
    copies: dict[str, list[Received]] = defaultdict(list)
    for request in received:
        delivery = known.get(request.msg_id)
        assert delivery is not None, request.msg_id
        body = request.verify(secrets[delivery.endpoint_id])
        assert body["data"].get("token") not in rolled_back_tokens
        copies[request.msg_id].append(request)
    for msg_id, requests in copies.items():
        delivery = known[msg_id]
        assert len({r.body for r in requests}) == 1, msg_id
        # Never more sends than attempt numbers handed out: no attempt was sent by two workers.
        assert len(requests) <= delivery.attempts, msg_id
        answered_ok = any(r.status == 200 and not r.late for r in requests)
        if delivery.status == "succeeded":
            assert answered_ok, msg_id
    for delivery in deliveries:
        if delivery.status == "succeeded":
            assert f"msg_{delivery.id.hex}" in copies
    rolled_back_seen = [
        r for r in received if msgspec.json.decode(r.body)["data"].get("token") in rolled_back_tokens
    ]
    assert rolled_back_seen == []
    assert workers.kills >= 4
    duplicates = sum(len(v) - 1 for v in copies.values())
    print(
        f"\nchaos: {len(deliveries)} deliveries, {delivered} delivered, {exhausted} exhausted, {pending} pending;"
        f" {len(received)} requests received, {duplicates} retries of an id already received;"
        f" {workers.kills} kills, {interrupted} interrupted attempts, {len(rolled_back_tokens)} rolled-back events"
    )
