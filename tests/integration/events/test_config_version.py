"""The rule and endpoint look-ups of the event hooks, served from each process's cache.

Each test runs two or three independent instances of the services on one database (their own
engines, pools and caches, as separate processes would have): a change made through one must
reach the events another records next, because it bumps the user's ``config_version`` and the
event statement reads it (aiclone.events.config).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aiclone.automations.schemas import (
    AutomationCreate,
    AutomationUpdate,
    CreateResearchTaskAction,
    NotifyAction,
)
from aiclone.container import Services
from aiclone.events.config import VersionedCache, bump_config_version
from aiclone.events.models import EventCounter
from aiclone.events.types import EventType
from aiclone.notifications.models import Notification
from aiclone.prospects.schemas import ProspectCreate
from aiclone.webhooks.models import WebhookDelivery, WebhookEndpoint
from aiclone.webhooks.schemas import SubscriptionCreate, WebhookCreate, WebhookPatch
from tests.conftest import make_settings, started_services
from tests.support.statements import watch_statements
from tests.support.webhook_receiver import FAST_DELIVERY, Receiver, Reply

FAST: dict[str, Any] = {**FAST_DELIVERY, "webhook_poll_seconds": 0.1}


@asynccontextmanager
async def instance(
    database_url: str, tmp_path: Path, *, workers: bool = False, **overrides: Any
) -> AsyncIterator[Services]:
    async with started_services(
        make_settings(database_url, tmp_path, **{**FAST, **overrides}), workers=workers
    ) as services:
        yield services


async def _user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"cfg-{uuid.uuid4().hex[:10]}@example.com",
        password="a long enough passphrase 42",
        full_name="C",
    )
    return user.id


async def _prospect(services: Services, user: uuid.UUID, name: str = "Ada") -> None:
    await services.prospects.create(user, ProspectCreate(name=name))


async def _titles(services: Services, user: uuid.UUID) -> list[str]:
    async with services.db.read_session() as session:
        query = select(Notification.title).where(Notification.user_id == user)
        return list((await session.scalars(query.order_by(Notification.created_at))).all())


async def _deliveries(services: Services, endpoint_id: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        query = select(func.count()).where(WebhookDelivery.endpoint_id == endpoint_id)
        return int(await session.scalar(query) or 0)


async def _version(services: Services, user: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        query = select(EventCounter.config_version).where(EventCounter.user_id == user)
        return int(await session.scalar(query) or 0)


def _notify(title: str) -> AutomationCreate:
    return AutomationCreate(name="Rule", trigger_event="prospect_added", action=NotifyAction(title=title))


# --- rules -------------------------------------------------------------------------------


async def test_a_rule_changed_through_another_instance_is_used_by_the_next_event(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(a)
        rule = await b.automations.create(user, _notify("v1"))
        await _prospect(a, user)
        await _prospect(a, user)  # served from a's cache
        assert await _titles(a, user) == ["v1", "v1"]

        await b.automations.update(user, rule.id, AutomationUpdate(action=NotifyAction(title="v2")))
        await _prospect(a, user)
        assert (await _titles(a, user))[-1] == "v2"

        await b.automations.update(user, rule.id, AutomationUpdate(enabled=False))
        await _prospect(a, user)
        assert len(await _titles(a, user)) == 3

        await b.automations.update(user, rule.id, AutomationUpdate(enabled=True))
        await _prospect(a, user)
        assert len(await _titles(a, user)) == 4

        await b.automations.delete(user, rule.id)
        await _prospect(a, user)
        assert len(await _titles(a, user)) == 4

        await b.automations.create(user, _notify("v3"))
        await _prospect(a, user)
        assert await _titles(a, user) == ["v1", "v1", "v2", "v2", "v3"]
        # Every rule write moved the version; a run's own bookkeeping does not.
        assert await _version(a, user) == 6


async def test_whether_a_failure_is_the_first_in_a_row_is_read_fresh_in_every_instance(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    # A research rule fails on a prospect without a website and succeeds on one with a website.
    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(a)
        research = CreateResearchTaskAction()
        await a.automations.create(
            user, AutomationCreate(name="Research", trigger_event="prospect_added", action=research)
        )
        await _prospect(a, user, "No Site")  # the first failure: a notice
        await _prospect(a, user, "No Site Either")  # a failure in a row: none
        await b.prospects.create(user, ProspectCreate(name="Site", website="https://site.example"))
        await _prospect(a, user, "No Site Again")  # after b's success, a first failure again
        assert await _titles(a, user) == ["Automation failed: Research"] * 2


# --- endpoints ---------------------------------------------------------------------------

Change = Callable[[Services, uuid.UUID, uuid.UUID], Awaitable[None]]


async def _pause(services: Services, user: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await services.webhooks.patch(user, endpoint_id, WebhookPatch(status="paused"))


async def _retype(services: Services, user: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await services.webhooks.patch(user, endpoint_id, WebhookPatch(event_types=["prospect_updated"]))


async def _delete(services: Services, user: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await services.webhooks.delete(user, endpoint_id)


async def _unsubscribe(services: Services, user: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await services.hooks.unsubscribe(user, endpoint_id)


@pytest.mark.parametrize(
    ("change", "zapier", "kept"),
    [(_pause, False, 2), (_retype, False, 2), (_delete, False, 0), (_unsubscribe, True, 0)],
    ids=["paused", "event-types-changed", "deleted", "unsubscribed"],
)
async def test_an_endpoint_changed_through_another_instance_gets_no_more_deliveries(
    database_url: str,
    tmp_path: Path,
    clean_tables: None,
    receiver: Receiver,
    change: Change,
    zapier: bool,
    kept: int,
) -> None:
    # A cached endpoint that is gone would fail the next create on its foreign key; one that is
    # paused or no longer subscribed would get a delivery.
    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(a)
        if zapier:
            endpoint_id = (
                await b.hooks.subscribe(
                    user, SubscriptionCreate(target_url=receiver.url(), event="prospect_added")
                )
            ).id
        else:
            endpoint_id = (
                await b.webhooks.create(
                    user, WebhookCreate(url=receiver.url(), event_types=["prospect_added"])
                )
            ).id
        await _prospect(a, user)
        await _prospect(a, user)
        assert await _deliveries(a, endpoint_id) == 2
        await change(b, user, endpoint_id)
        await _prospect(a, user)
        assert await _deliveries(a, endpoint_id) == kept  # a deleted endpoint takes its log along


async def test_an_endpoint_created_or_reenabled_elsewhere_gets_the_next_event(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(a)
        await _prospect(a, user)  # a caches "no endpoints"
        created = await b.webhooks.create(user, WebhookCreate(url=receiver.url(), event_types=["*"]))
        await _prospect(a, user)
        after_create = await _deliveries(a, created.id)
        assert after_create > 0
        await _pause(b, user, created.id)
        await _prospect(a, user)
        assert await _deliveries(a, created.id) == after_create
        await b.webhooks.patch(user, created.id, WebhookPatch(status="active"))
        await _prospect(a, user)
        assert await _deliveries(a, created.id) > after_create


@pytest.mark.parametrize("flavour", ["standard", "zapier"])
async def test_an_endpoint_the_worker_disables_gets_no_more_deliveries_from_another_instance(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver, flavour: str
) -> None:
    # 410 Gone: a standard endpoint is disabled at once, a Zapier subscription removed.
    receiver.script("/hook", default=Reply(410))
    async with (
        instance(database_url, tmp_path) as a,
        instance(database_url, tmp_path, workers=True),
    ):
        user = await _user(a)
        if flavour == "zapier":
            subscription = SubscriptionCreate(target_url=receiver.url("/hook"), event="prospect_added")
            endpoint_id = (await a.hooks.subscribe(user, subscription)).id
        else:
            created = await a.webhooks.create(
                user, WebhookCreate(url=receiver.url("/hook"), event_types=["prospect_added"])
            )
            endpoint_id = created.id
        version = await _version(a, user)
        await _prospect(a, user)  # cached by a, delivered by the worker
        await receiver.wait_for(1)
        async with asyncio.timeout(15):
            while await _version(a, user) == version:  # the worker's change committed
                await asyncio.sleep(0.02)
        before = await _deliveries(a, endpoint_id)
        assert before == (0 if flavour == "zapier" else 1)
        await _prospect(a, user)
        assert await _deliveries(a, endpoint_id) == before


# --- the cache itself --------------------------------------------------------------------


async def test_a_create_reads_rules_and_endpoints_only_when_the_version_moved(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    looked_up: list[str] = []

    def note(statement: str) -> None:
        looked_up.extend(t for t in ("automations", "webhook_endpoints") if f"FROM {t}" in statement)

    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(b)
        await b.automations.create(user, _notify("hello"))
        await b.webhooks.create(user, WebhookCreate(url=receiver.url(), event_types=["prospect_added"]))
        await watch_statements(a.db, note)
        await _prospect(a, user)
        assert sorted(looked_up) == ["automations", "webhook_endpoints"]
        looked_up.clear()
        for _ in range(3):
            await _prospect(a, user)
        assert looked_up == []
        await b.automations.create(user, _notify("again"))
        await _prospect(a, user)
        assert sorted(looked_up) == ["automations", "webhook_endpoints"]
    assert (await _titles(b, user))[-2:] == ["hello", "again"]


async def test_a_transactions_own_uncommitted_change_never_reaches_the_cache(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    async with instance(database_url, tmp_path) as a, instance(database_url, tmp_path) as b:
        user = await _user(a)
        # A change and an event in one transaction that rolls back: the event saw the change.
        with pytest.raises(LookupError):
            async with a.db.session() as session:
                await bump_config_version(session, user)
                session.add(
                    WebhookEndpoint(
                        id=uuid.uuid4(),
                        user_id=user,
                        url=receiver.url(),
                        event_types=["*"],
                        status="active",
                        secret_sealed="unused",
                    )
                )
                await session.flush()
                await a.events.record(session, user_id=user, type=EventType.PROSPECT_ADDED, data={"n": 1})
                raise LookupError("rolled back")
        # Another instance's change brings the committed version to the one the rolled-back
        # transaction had seen; a cache filled by it would now name an endpoint that never was.
        await b.automations.create(user, _notify("hello"))
        await _prospect(a, user)
        assert await _titles(a, user) == ["hello"]


def test_the_cache_keeps_one_version_per_user_and_drops_the_least_recently_used() -> None:
    cache: VersionedCache[str] = VersionedCache(2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(first, 1, "a")
    cache.put(second, 1, "b")
    assert cache.get(first, 1) == "a"
    assert cache.get(first, 2) is None  # another version is a miss
    cache.put(third, 1, "c")  # second was used least recently
    assert (cache.get(second, 1), cache.get(first, 1), cache.get(third, 1)) == (None, "a", "c")
    cache.put(first, 2, "a2")
    assert (cache.get(first, 1), cache.get(first, 2), len(cache)) == (None, "a2", 2)
    with pytest.raises(ValueError, match="at least one"):
        VersionedCache(0)
