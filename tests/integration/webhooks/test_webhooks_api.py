"""Webhook endpoints and the delivery log through the HTTP API, on SQLite and PostgreSQL.

The app runs its own delivery worker; events are recorded through a second ``services`` instance
(as another process would), and a real receiver on 127.0.0.1 checks every signature with the
``standardwebhooks`` library.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from aiclone.container import Services
from aiclone.events.types import EventType
from aiclone.settings import Settings, SettingsError, load_settings
from aiclone.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import make_settings
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem
from tests.support.webhook_receiver import Receiver, Reply

Client = AsyncTestClient[Litestar]
MAX_ENDPOINTS = 4


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        webhook_allow_private=True,
        webhook_retry_schedule="100ms,100ms,100ms,100ms,100ms,100ms",
        webhook_retry_jitter=0.0,
        webhook_failure_threshold=50,
        webhook_poll_seconds=0.1,
        webhook_timeout_seconds=3.0,
        webhook_connect_timeout_seconds=1.0,
        webhook_lease_seconds=5.0,
        webhook_max_endpoints_per_user=MAX_ENDPOINTS,
        webhook_endpoint_concurrency=1,
    )


async def _create(
    client: Client, user: SignedInUser, url: str, types: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/webhooks", json={"url": url, "event_types": types or ["*"], **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _record(
    services: Services, user_id: uuid.UUID, n: int = 1, type: str = EventType.PROSPECT_ADDED
) -> None:
    async with services.db.session() as session:
        for i in range(n):
            await services.events.record(
                session, user_id=user_id, type=type, data={"id": str(uuid.uuid4()), "n": i}
            )


async def _settled(client: Client, user: SignedInUser, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` deliveries of the endpoint have finished; returns them."""
    async with asyncio.timeout(20):
        while True:
            page = await client.get(
                f"/api/webhooks/{webhook_id}/deliveries", params={"limit": 200}, headers=user.headers
            )
            items: list[dict[str, Any]] = page.json()["items"]
            done = [d for d in items if d["status"] in ("succeeded", "failed")]
            if len(done) >= count:
                return items
            await asyncio.sleep(0.05)


async def test_create_returns_secret_once_and_masks_it_afterwards(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    alice = await users.create()
    created = await _create(client, alice, receiver.url(), ["prospect_added"], description="  CRM sync ")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert created["status"] == "active"
    assert created["description"] == "CRM sync"
    assert created["event_types"] == ["prospect_added"]
    assert created["secret_hint"] == secret[:10] + "…"

    one = await client.get(f"/api/webhooks/{created['id']}", headers=alice.headers)
    listing = await client.get("/api/webhooks", headers=alice.headers)
    for response in (one, listing):
        assert response.status_code == 200
        assert secret not in response.text
        assert secret.removeprefix("whsec_") not in response.text
    assert "secret" not in one.json()
    assert [w["id"] for w in listing.json()["items"]] == [created["id"]]


async def test_user_supplied_secret_must_match_the_format(client: Client, users: UserFactory) -> None:
    alice = await users.create()
    good = "whsec_" + base64.b64encode(bytes(range(24))).decode()
    created = await _create(client, alice, "http://127.0.0.1:9/hook", secret=good)
    assert created["secret"] == good
    bad = [
        "not-a-secret",
        "whsec_" + base64.b64encode(bytes(16)).decode(),  # too short
        "whsec_" + base64.b64encode(bytes(65)).decode(),  # too long
        "whsec_***notbase64***",
        base64.b64encode(bytes(32)).decode(),  # no prefix
    ]
    for value in bad:
        response = await client.post(
            "/api/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": value},
            headers=alice.headers,
        )
        assert_problem(response, 422, "validation-error", note=value)
        assert response.json()["errors"][0]["field"] == "secret"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1/hook", "https"),
        ("http://user:pass@127.0.0.1/hook", "credentials"),
        ("http:///hook", "host"),
        ("http://127.0.0.1/" + "a" * 2100, "2048"),
        ("http://127.0.0.1/hook#frag", "fragment"),
        ("http://127.0.0.1/ho ok", "spaces"),
        ("javascript:alert(1)", "https"),
    ],
)
async def test_invalid_urls_are_refused(client: Client, users: UserFactory, url: str, why: str) -> None:
    alice = await users.create()
    response = await client.post(
        "/api/webhooks", json={"url": url, "event_types": ["*"]}, headers=alice.headers
    )
    assert_problem(response, 422, "validation-error")
    body = response.json()
    assert body["errors"][0]["field"] in ("url", "body")
    assert why in response.text


@pytest.mark.parametrize("types", [["nope"], ["*", "activity"], [], ["prospect_added", "bogus"]])
async def test_event_types_must_be_known_or_the_wildcard(
    client: Client, users: UserFactory, types: list[str]
) -> None:
    alice = await users.create()
    response = await client.post(
        "/api/webhooks", json={"url": "http://127.0.0.1:9/h", "event_types": types}, headers=alice.headers
    )
    assert_problem(response, 422, "validation-error")


async def test_unknown_fields_are_refused(client: Client, users: UserFactory) -> None:
    alice = await users.create()
    response = await client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/h", "event_types": ["*"], "status": "failed"},
        headers=alice.headers,
    )
    assert_problem(response, 422, "validation-error")


async def test_endpoint_cap_per_user(client: Client, users: UserFactory) -> None:
    alice, bob = await users.create(), await users.create()
    for i in range(MAX_ENDPOINTS):
        await _create(client, alice, f"http://127.0.0.1:9/h{i}")
    over = await client.post(
        "/api/webhooks", json={"url": "http://127.0.0.1:9/x", "event_types": ["*"]}, headers=alice.headers
    )
    assert_problem(over, 409, "conflict")
    # The cap is per user.
    await _create(client, bob, "http://127.0.0.1:9/bob")


async def test_other_users_objects_are_404_and_anonymous_is_401(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice, bob = await users.create(), await users.create()
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    await _record(services, alice.id)
    delivery = (await _settled(client, alice, hook["id"], 1))[0]
    base = f"/api/webhooks/{hook['id']}"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("PUT", base, {"url": receiver.url("/x"), "event_types": ["*"]}),
        ("PATCH", base, {"description": "mine now"}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", {"event_type": "activity"}),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery['id']}", None),
        ("POST", f"{base}/deliveries/{delivery['id']}/retry", None),
        ("POST", f"{base}/recover", {"since": "2020-01-01T00:00:00Z"}),
    ]
    for method, path, body in calls:
        as_bob = await client.request(method, path, json=body, headers=bob.headers)
        assert_problem(as_bob, 404, "not-found", note=(method, path))
        anonymous = await client.request(method, path, json=body)
        assert_problem(anonymous, 401, "unauthenticated", note=(method, path))
    # Alice's delivery is also unreachable through Bob's own endpoint.
    bobs = await _create(client, bob, receiver.url("/bob"))
    cross = await client.get(f"/api/webhooks/{bobs['id']}/deliveries/{delivery['id']}", headers=bob.headers)
    assert_problem(cross, 404, "not-found")
    assert (await client.get("/api/webhooks", headers=bob.headers)).json()["items"][0]["id"] == bobs["id"]
    # Nothing of Bob's attempts reached Alice's endpoint, and it is untouched.
    assert len(receiver.received("/hook")) == 1
    assert (await client.get(base, headers=alice.headers)).json()["description"] == ""


async def test_admin_may_act_for_a_user_others_may_not(client: Client, users: UserFactory) -> None:
    alice, admin = await users.create(), await users.create(admin=True)
    hook = await _create(client, alice, "http://127.0.0.1:9/h")
    seen = await client.get("/api/webhooks", params={"user_id": str(alice.id)}, headers=admin.headers)
    assert [w["id"] for w in seen.json()["items"]] == [hook["id"]]
    denied = await client.get("/api/webhooks", params={"user_id": str(admin.id)}, headers=alice.headers)
    assert_problem(denied, 403, "forbidden")


async def test_put_patch_status_and_delete(client: Client, users: UserFactory, receiver: Receiver) -> None:
    alice = await users.create()
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    url = f"/api/webhooks/{hook['id']}"
    put = await client.put(
        url,
        json={"url": receiver.url("/v2"), "event_types": ["task_completed", "activity"], "description": "v2"},
        headers=alice.headers,
    )
    assert put.status_code == 200
    assert put.json()["url"] == receiver.url("/v2")
    assert put.json()["event_types"] == ["activity", "task_completed"]
    paused = await client.patch(url, json={"status": "inactive"}, headers=alice.headers)
    assert paused.json()["status"] == "inactive"
    assert paused.json()["disabled_reason"] == "paused by its owner"
    assert paused.json()["description"] == "v2"
    cannot_fail = await client.patch(url, json={"status": "failed"}, headers=alice.headers)
    assert_problem(cannot_fail, 422, "validation-error")
    active = await client.patch(url, json={"status": "active"}, headers=alice.headers)
    assert active.json()["status"] == "active"
    assert active.json()["disabled_reason"] is None
    assert (await client.delete(url, headers=alice.headers)).status_code == 204
    assert_problem(await client.get(url, headers=alice.headers), 404, "not-found")


async def test_events_are_delivered_signed_and_logged_with_attempts(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    big = b"x" * (20 * 1024)
    receiver.script("/hook", default=Reply(200, big))
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    await _record(services, alice.id, 3)
    await _record(services, alice.id, 2, type=EventType.TASK_UPDATE)  # not subscribed
    items = await _settled(client, alice, hook["id"], 3)
    assert len(items) == 3
    assert {d["status"] for d in items} == {"succeeded"}
    assert {d["event_type"] for d in items} == {"prospect_added"}
    got = await receiver.wait_for(3)
    for request in got:
        body = request.verify(hook["secret"])
        assert body["type"] == "prospect_added"
        assert set(body) == {"type", "timestamp", "data"}
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("aiclone-webhooks/")
    assert {r.msg_id for r in got} == {d["webhook_id"] for d in items}

    detail = await client.get(
        f"/api/webhooks/{hook['id']}/deliveries/{items[0]['id']}", headers=alice.headers
    )
    assert detail.status_code == 200
    data = detail.json()
    assert data["payload"]["type"] == "prospect_added"
    [attempt] = data["attempt_log"]
    assert attempt["number"] == 1
    assert attempt["trigger"] == "scheduled"
    assert attempt["status_code"] == 200
    assert attempt["error_class"] is None
    assert attempt["duration_ms"] >= 0
    assert attempt["response_body"] == "x" * 16384
    assert attempt["remote_address"] == "127.0.0.1"


async def test_delivery_list_filters_and_keyset_pages(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    receiver.script("/hook", default=Reply(200))
    hook = await _create(client, alice, receiver.url(), ["prospect_added", "task_completed"])
    await _record(services, alice.id, 3)
    await _record(services, alice.id, 2, type=EventType.TASK_COMPLETED)
    await _settled(client, alice, hook["id"], 5)
    base = f"/api/webhooks/{hook['id']}/deliveries"
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(base, params=params, headers=alice.headers)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    tasks = (await client.get(base, params={"event_type": "task_completed"}, headers=alice.headers)).json()
    assert len(tasks["items"]) == 2
    assert (await client.get(base, params={"status": "failed"}, headers=alice.headers)).json()["items"] == []
    assert (await client.get(base, params={"status": "bogus"}, headers=alice.headers)).status_code == 422
    assert (await client.get(base, params={"event_type": "bogus"}, headers=alice.headers)).status_code == 422
    assert (await client.get(base, params={"cursor": "%%%"}, headers=alice.headers)).status_code == 422


async def test_test_event_is_sent_now_and_logged_as_manual(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    alice = await users.create()
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    response = await client.post(
        f"/api/webhooks/{hook['id']}/test", json={"event_type": "content_published"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["test"] is True
    assert detail["status"] == "succeeded"
    assert detail["event_type"] == "content_published"
    assert [a["trigger"] for a in detail["attempt_log"]] == ["manual"]
    [request] = receiver.received()
    body = request.verify(hook["secret"])
    assert body["type"] == "content_published"
    assert body["data"]["test"] is True
    assert request.msg_id == detail["webhook_id"]

    receiver.script("/hook", Reply(500, b"boom"))
    failed = await client.post(f"/api/webhooks/{hook['id']}/test", json={}, headers=alice.headers)
    assert failed.json()["status"] == "failed"
    assert failed.json()["attempt_log"][0]["error_class"] == "http"
    assert failed.json()["attempt_log"][0]["response_body"] == "boom"
    unknown = await client.post(
        f"/api/webhooks/{hook['id']}/test", json={"event_type": "x"}, headers=alice.headers
    )
    assert unknown.status_code == 422


async def test_retry_now_resends_with_the_same_webhook_id(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    await _record(services, alice.id)
    [delivery] = await _settled(client, alice, hook["id"], 1)
    retried = await client.post(
        f"/api/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry", headers=alice.headers
    )
    assert retried.status_code == 200, retried.text
    log = retried.json()["attempt_log"]
    assert [(a["number"], a["trigger"]) for a in log] == [(1, "scheduled"), (2, "manual")]
    got = await receiver.wait_for(2)
    assert [r.msg_id for r in got] == [delivery["webhook_id"]] * 2
    assert got[0].body == got[1].body
    for r in got:
        r.verify(hook["secret"])


async def test_rotation_overlap_signs_with_both_secrets_then_only_the_new(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    hook = await _create(client, alice, receiver.url())
    old = hook["secret"]
    rotated = await client.post(f"/api/webhooks/{hook['id']}/rotate-secret", headers=alice.headers)
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old
    expires = dt.datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    shown = (await client.get(f"/api/webhooks/{hook['id']}", headers=alice.headers)).json()
    assert shown["secret_hint"] == new[:10] + "…"
    assert new not in json.dumps(shown)

    await client.post(f"/api/webhooks/{hook['id']}/test", json={}, headers=alice.headers)
    [during] = receiver.received()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    during.verify(old)
    during.verify(new)

    # The overlap ends (moved into the past instead of waiting a day).
    async with services.db.session() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(hook["id"]))
            .values(previous_secret_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    await client.post(f"/api/webhooks/{hook['id']}/test", json={}, headers=alice.headers)
    after = receiver.received()[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verify(new)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)

    # A supplied secret is accepted on rotation too, and must be well-formed.
    mine = "whsec_" + base64.b64encode(bytes(range(40))).decode()
    supplied = await client.post(
        f"/api/webhooks/{hook['id']}/rotate-secret", json={"secret": mine}, headers=alice.headers
    )
    assert supplied.json()["secret"] == mine
    bad = await client.post(
        f"/api/webhooks/{hook['id']}/rotate-secret", json={"secret": "whsec_short"}, headers=alice.headers
    )
    assert_problem(bad, 422, "validation-error")


async def test_recover_requeues_failed_deliveries_oldest_first(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    receiver.script("/hook", default=Reply(500))
    hook = await _create(client, alice, receiver.url(), ["prospect_added"])
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for _ in range(4):
        await _record(services, alice.id)  # one transaction each: distinct creation times
    failed = await _settled(client, alice, hook["id"], 4)
    assert {d["status"] for d in failed} == {"failed"}
    assert {d["attempts"] for d in failed} == {7}

    receiver.script("/hook", default=Reply(204))
    before = len(receiver.received())
    recovered = await client.post(
        f"/api/webhooks/{hook['id']}/recover", json={"since": since.isoformat()}, headers=alice.headers
    )
    assert recovered.status_code == 202
    assert recovered.json() == {"requeued": 4}
    got = (await receiver.wait_for(before + 4))[before:]
    for r in got:
        r.verify(hook["secret"])
    # One at a time per endpoint here (concurrency 1), so arrival order is queue order.
    order = {d["webhook_id"]: d["event_seq"] for d in failed}
    assert [order[r.msg_id] for r in got] == sorted(order.values())
    done = await _settled(client, alice, hook["id"], 4)
    assert {d["status"] for d in done} == {"succeeded"}

    empty = await client.post(
        f"/api/webhooks/{hook['id']}/recover",
        json={"since": since.isoformat(), "until": (since - dt.timedelta(seconds=5)).isoformat()},
        headers=alice.headers,
    )
    assert_problem(empty, 422, "validation-error")
    await client.patch(f"/api/webhooks/{hook['id']}", json={"status": "inactive"}, headers=alice.headers)
    refused = await client.post(
        f"/api/webhooks/{hook['id']}/recover", json={"since": since.isoformat()}, headers=alice.headers
    )
    assert_problem(refused, 409, "conflict")


async def test_pausing_stops_waiting_deliveries(
    client: Client, users: UserFactory, services: Services, receiver: Receiver
) -> None:
    alice = await users.create()
    hook = await _create(client, alice, receiver.url())
    await client.patch(f"/api/webhooks/{hook['id']}", json={"status": "inactive"}, headers=alice.headers)
    await _record(services, alice.id, 2)
    async with services.db.read_session() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
    # An inactive endpoint gets no deliveries at all (the activity events do not match either).
    assert rows == []


async def test_openapi_documents_the_webhook_routes(client: Client) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/webhooks",
        "/api/webhooks/{webhook_id}",
        "/api/webhooks/{webhook_id}/rotate-secret",
        "/api/webhooks/{webhook_id}/test",
        "/api/webhooks/{webhook_id}/deliveries",
        "/api/webhooks/{webhook_id}/deliveries/{delivery_id}",
        "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        "/api/webhooks/{webhook_id}/recover",
    ):
        assert path in paths, path
    assert "404" in paths["/api/webhooks/{webhook_id}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("AICLONE_WEBHOOK_RETRY_SCHEDULE", "5s,soon", "not a duration"),
        ("AICLONE_WEBHOOK_RETRY_JITTER", "0.9", "between"),
        ("AICLONE_WEBHOOK_FAILURE_THRESHOLD", "0", "between"),
        ("AICLONE_WEBHOOK_TIMEOUT_SECONDS", "abc", "must be"),
        ("AICLONE_WEBHOOK_LEASE_SECONDS", "10", "AICLONE_WEBHOOK_TIMEOUT_SECONDS + 1"),
        ("AICLONE_WEBHOOK_CONNECT_TIMEOUT_SECONDS", "20", "may not exceed"),
        ("AICLONE_WEBHOOK_MAX_PAYLOAD_BYTES", "10", "between"),
    ],
)
def test_webhook_settings_are_validated_with_the_variable_named(
    variable: str, value: str, words: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value}, dotenv=None)
    assert variable in str(raised.value)
    assert words in str(raised.value)


def test_webhook_settings_defaults() -> None:
    settings = load_settings({}, dotenv=None)
    hooks = settings.webhooks
    assert hooks.allow_private is False
    # "5s,5m,30m,2h,5h,10h,10h", read once into the seconds the worker uses.
    assert hooks.retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert hooks.secret_overlap_seconds == 86400
    assert hooks.failure_threshold == 5
    assert hooks.max_payload_bytes == 256 * 1024
    assert (hooks.connect_timeout_seconds, hooks.timeout_seconds) == (5.0, 15.0)
