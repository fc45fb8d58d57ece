"""Erasing an account: every table of the schema is checked afterwards, for the erased user and
for a bystander whose rows must all survive."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Table, insert, select

from aiclone.container import Services
from aiclone.db import utcnow
from aiclone.live.models import StreamInstance, StreamPresence
from aiclone.models import metadata
from aiclone.research.queue import ResearchQueue
from aiclone.settings import Settings
from aiclone.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import make_settings
from tests.support.analytics_flows import run_flows
from tests.support.factories import SignedInUser, UserFactory
from tests.support.live_support import PASSWORD, Server, open_stream, sign_up
from tests.support.ratelimit_support import DAY_SECONDS, clear_of_window_edge

Client = AsyncTestClient[Litestar]
ME = "/api/auth/me"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No workers: queued research and pending deliveries stay as they are until checked.
    return make_settings(database_url, tmp_path, run_workers=False, webhook_allow_private=True)


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def populate(client: Client, services: Services, user: SignedInUser) -> None:
    """Rows in every table a user can own, through the API where there is one."""
    h = user.headers
    await _ok(
        await client.post(
            "/api/automations",
            json={
                "name": "Tell me",
                "trigger_event": "prospect_added",
                "action": {"type": "notify", "title": "New prospect {{name}}"},
            },
            headers=h,
        ),
        201,
    )
    hook = await _ok(
        await client.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:9/in", "event_types": ["*"]}, headers=h
        ),
        201,
    )
    flows = await run_flows(client, h)
    await _ok(
        await client.post(
            "/api/research-tasks",
            json={
                "title": "Acme",
                "input_source": "https://acme.example.com/",
                "source_type": "urls",
                "prospect_id": flows.prospects[0]["id"],
            },
            headers=h,
        ),
        201,
    )
    await _ok(await client.post("/api/events/ticket", headers=h), 201)
    # An API key, and a ticket the key asked for (a stream_tickets row pointing at it).
    key = await _ok(
        await client.post("/api/api-keys", json={"name": "erase me", "scopes": ["events:read"]}, headers=h),
        201,
    )
    await _ok(await client.post("/api/events/ticket", headers={"Authorization": f"Bearer {key['key']}"}), 201)
    # A reset link: an account token and a mail in the outbox.
    await _ok(await client.post("/api/auth/password-reset", json={"email": user.email}), 202)
    async with services.db.session() as session:
        delivery = await session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == uuid.UUID(hook["id"])).limit(1)
        )
        assert delivery is not None
        await session.execute(
            insert(WebhookAttempt).values(
                delivery_id=delivery, number=1, trigger="scheduled", started_at=utcnow(), status_code=500
            )
        )
        instance = f"test-{user.id.hex[:8]}"
        await session.execute(insert(StreamInstance).values(id=instance))
        await session.execute(insert(StreamPresence).values(instance_id=instance, user_id=user.id, streams=1))


def _owner_filters(table: Table, user_id: uuid.UUID) -> list[Any]:
    """How rows of ``table`` point at a user: a user id column, or a key into such a table."""
    filters: list[Any] = []
    for column in table.columns:
        refs_users = any(fk.column.table.name == "users" for fk in column.foreign_keys)
        if refs_users or column.name == "user_id" or (table.name == "users" and column.name == "id"):
            filters.append(column == user_id)
    if filters:
        return filters
    for fk in table.foreign_keys:
        parent = fk.column.table
        parent_filters = _owner_filters(parent, user_id)
        if parent_filters and parent is not table:
            filters.extend(fk.parent.in_(select(fk.column).where(f)) for f in parent_filters)
    return filters


async def rows_of(services: Services, user_id: uuid.UUID) -> dict[str, set[tuple[Any, ...]]]:
    found: dict[str, set[tuple[Any, ...]]] = {}
    async with services.db.read_session() as session:
        for table in metadata.sorted_tables:
            filters = _owner_filters(table, user_id)
            if not filters:
                continue
            rows: set[tuple[Any, ...]] = set()
            for condition in filters:
                result = await session.execute(select(*table.columns).where(condition))
                rows |= {tuple(_hashable(v) for v in row) for row in result}
            found[table.name] = rows
    return found


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return repr(value)
    return value


async def test_erasing_an_account_leaves_nothing_of_it_and_everything_of_others(
    client: Client, users: UserFactory, services: Services
) -> None:
    alice, bob = await users.create(), await users.create()
    for user in (alice, bob):
        await populate(client, services, user)
    before_alice, before_bob = await rows_of(services, alice.id), await rows_of(services, bob.id)
    empty = sorted(name for name, rows in before_alice.items() if not rows)
    assert not empty, f"populate() creates no rows in {empty}: give the new table test data"
    assert set(before_alice) == set(before_bob)

    wrong = await client.request(
        "DELETE", ME, json={"password": "not my password at all"}, headers=alice.headers
    )
    assert wrong.status_code == 403
    assert wrong.json()["type"].endswith("/wrong-password")
    assert await rows_of(services, alice.id) == before_alice

    done = await client.request("DELETE", ME, json={"password": alice.password}, headers=alice.headers)
    assert done.status_code == 204, done.text

    after_alice, after_bob = await rows_of(services, alice.id), await rows_of(services, bob.id)
    assert {name: rows for name, rows in after_alice.items() if rows} == {}
    assert after_bob == before_bob
    # The credentials are gone with the account.
    assert (await users.login(alice.email, alice.password)).status_code == 401
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401


async def test_erase_needs_a_password_and_an_existing_account(client: Client, users: UserFactory) -> None:
    user = await users.create()
    missing = await client.request("DELETE", ME, headers=user.headers)
    assert missing.status_code in (400, 422)
    assert missing.json()["type"].endswith(("/validation-error", "/bad-request"))
    extra = await client.request("DELETE", ME, json={"password": user.password, "x": 1}, headers=user.headers)
    assert extra.status_code == 422
    assert (
        await client.request("DELETE", ME, json={"password": user.password}, headers=user.headers)
    ).status_code == 204
    # The erased account's token is refused everywhere, this route included.
    again = await client.request("DELETE", ME, json={"password": user.password}, headers=user.headers)
    assert again.status_code == 401
    assert again.json()["type"].endswith("/unauthenticated")


async def test_admin_deletes_users_but_never_the_last_admin(client: Client, users: UserFactory) -> None:
    user, admin = await users.create(), await users.create(admin=True)
    denied = await client.delete(f"/api/admin/users/{admin.id}", headers=user.headers)
    assert denied.status_code == 403
    assert denied.json()["type"].endswith("/forbidden")

    assert (await client.delete(f"/api/admin/users/{user.id}", headers=admin.headers)).status_code == 204
    gone = await client.delete(f"/api/admin/users/{user.id}", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("/not-found")

    last = await client.delete(f"/api/admin/users/{admin.id}", headers=admin.headers)
    assert last.status_code == 409
    assert last.json()["type"].endswith("/last-admin")
    own = await client.request("DELETE", ME, json={"password": admin.password}, headers=admin.headers)
    assert own.status_code == 409
    assert own.json()["type"].endswith("/last-admin")

    second = await users.create(admin=True)
    assert (await client.delete(f"/api/admin/users/{admin.id}", headers=second.headers)).status_code == 204
    listing = await client.get("/api/admin/users", headers=second.headers)
    assert [item["email"] for item in listing.json()["items"]] == [second.email]


async def test_wrong_passwords_are_throttled_like_sign_in(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    from aiclone.app import create_app

    app = create_app(
        make_settings(database_url, tmp_path, rate_limit_enabled=True, login_failure_limit="2/day")
    )
    await clear_of_window_edge(DAY_SECONDS, margin=120)  # the count must not straddle a window's edge
    async with AsyncTestClient(app=app) as client:
        services: Services = app.state.services
        user = await UserFactory(client, services).create()
        codes = [
            (
                await client.request(
                    "DELETE", ME, json={"password": "wrong password 1"}, headers=user.headers
                )
            ).status_code
            for _ in range(3)
        ]
        assert codes == [403, 403, 429]
        locked = await client.request("DELETE", ME, json={"password": user.password}, headers=user.headers)
        assert locked.status_code == 429
        assert locked.json()["type"].endswith("/rate-limited")
        assert "retry-after" in locked.headers
        # The same quota as sign-in: the account's sign-ins are locked too.
        login = await client.post("/api/auth/login", data={"username": user.email, "password": user.password})
        assert login.status_code == 429


async def test_workers_cope_with_a_research_task_that_vanished(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    await _ok(
        await client.post(
            "/api/research-tasks",
            json={"title": "Acme", "input_source": "https://acme.example.com/", "source_type": "urls"},
            headers=user.headers,
        ),
        201,
    )
    queue = ResearchQueue(services.db, services.events, services.token_counters)
    claim = await queue.claim("worker-test")
    assert claim is not None
    assert claim.user_id == user.id
    assert (
        await client.request("DELETE", ME, json={"password": user.password}, headers=user.headers)
    ).status_code == 204
    # The run ends after its task went: nothing is written back, nothing raises.
    assert await queue.fail(claim, "engine failed") is False
    assert await queue.release(claim, "stopping") is False
    assert await queue.held("worker-test", [claim.task_id]) == set()
    assert await queue.recover_expired() == 0
    assert (await rows_of(services, user.id))["research_tasks"] == set()
    assert (await rows_of(services, user.id))["events"] == set()


async def test_a_delivery_that_vanished_mid_send_is_dropped(
    client: Client, users: UserFactory, services: Services
) -> None:
    from aiclone.webhooks.queue import DeliveryQueue
    from aiclone.webhooks.sender import Outcome

    user = await users.create()
    await _ok(
        await client.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:9/in", "event_types": ["*"]}, headers=user.headers
        ),
        201,
    )
    await _ok(await client.post("/api/prospects", json={"name": "Ada"}, headers=user.headers), 201)
    worker = services.webhook_worker
    now = utcnow()
    async with services.db.session() as session:
        claims, _ = await DeliveryQueue(session).claim(
            worker=worker.worker_id,
            now=now,
            lease_until=now + dt.timedelta(seconds=60),
            limit=10,
            skip_endpoints=[],
            room={},
            default_room=4,
            lease_length=dt.timedelta(seconds=60),
        )
    assert claims
    assert (
        await client.request("DELETE", ME, json={"password": user.password}, headers=user.headers)
    ).status_code == 204
    outcome = Outcome(utcnow(), 12, status_code=200)
    async with services.db.session() as session:
        kept = await worker.recorder.record_scheduled(session, worker.worker_id, [(claims[0], outcome)])
    assert kept == 0
    remaining = await rows_of(services, user.id)
    assert remaining["webhook_attempts"] == set()
    assert remaining["analytics_counters"] == set()


async def test_open_streams_of_the_erased_user_end(database_url: str, tmp_path: Path) -> None:
    server = await Server(database_url, tmp_path, harness=False).start()
    try:
        alice, bob = await sign_up(server.url), await sign_up(server.url)
        async with (
            open_stream(server.url, headers=alice.headers) as alice_stream,
            open_stream(server.url, headers=bob.headers) as bob_stream,
        ):
            import httpx

            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                erased = await http.request("DELETE", ME, json={"password": PASSWORD}, headers=alice.headers)
            assert erased.status_code == 204, erased.text
            await alice_stream.wait_for(lambda c: bool(c.named("close")), timeout=15)
            assert alice_stream.named("close")[0].json == {"reason": "credential_expired"}
            assert not bob_stream.ended.is_set()
            assert not bob_stream.named("close")
    finally:
        await server.stop()
