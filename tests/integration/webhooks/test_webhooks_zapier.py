"""REST hooks for Zapier through the real API: subscribe, a change made through the API arrives at
the target as the documented flat item, polling returns the same shape, a 410 unsubscribes.

The target is a real HTTP server on 127.0.0.1 speaking Zapier's side of the contract: it takes
the POST and answers 200, or 410 once the Zap is gone.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.settings import Settings
from aiclone.webhooks.zapier import TRIGGER_EVENTS, trigger_item
from tests.conftest import make_settings
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem
from tests.support.webhook_receiver import Receiver, Reply

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        webhook_allow_private=True,
        webhook_retry_schedule="100ms,100ms,100ms",
        webhook_retry_jitter=0.0,
        webhook_poll_seconds=0.1,
        webhook_timeout_seconds=3.0,
        webhook_connect_timeout_seconds=1.0,
        webhook_lease_seconds=5.0,
        webhook_max_endpoints_per_user=5,
    )


async def _subscribe(client: Client, user: SignedInUser, url: str, event: str) -> dict[str, Any]:
    response = await client.post(
        "/api/hooks/subscriptions", json={"target_url": url, "event": event}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _prospect(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/prospects", json={"name": "Ada Lovelace", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _poll(client: Client, user: SignedInUser, event: str, limit: int = 25) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/hooks/events", params={"event": event, "limit": limit}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _gone(client: Client, user: SignedInUser, endpoint_id: str) -> None:
    async with asyncio.timeout(15):
        while (await client.get(f"/api/webhooks/{endpoint_id}", headers=user.headers)).status_code != 404:
            await asyncio.sleep(0.05)


async def test_subscribe_receive_poll_then_410_unsubscribes(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    user = await users.create()
    sub = await _subscribe(client, user, receiver.url("/zap/updated"), "prospect_updated")
    assert set(sub) == {"id", "target_url", "event", "status", "created_at"}
    assert sub["event"] == "prospect_updated"
    assert sub["status"] == "active"
    assert sub["target_url"] == receiver.url("/zap/updated")

    prospect = await _prospect(client, user, company="Analytical Engines", email="ada@example.com")
    changed = await client.patch(
        f"/api/prospects/{prospect['id']}", json={"approval_status": "approved"}, headers=user.headers
    )
    assert changed.status_code == 200, changed.text
    [hook] = await receiver.wait_for(1, "/zap/updated")
    body = msgspec.json.decode(hook.body)

    # The documented flat item: envelope fields first, then the prospect's own fields.
    assert list(body)[:4] == ["id", "seq", "type", "occurred_at"]
    assert body["id"] == f"evt_{body['seq']}"
    assert body["type"] == "prospect_updated"
    assert body["occurred_at"].endswith("Z")
    assert body["prospect_id"] == prospect["id"]
    assert body["name"] == "Ada Lovelace"
    assert body["company"] == "Analytical Engines"
    assert body["approval_status"] == "approved"
    assert body["reason"] == "approved"
    assert "approval_status" in body["changes"]
    assert "user_id" not in body
    # Zapier verifies nothing: webhook-id for de-duplication, no signature.
    assert hook.headers["webhook-id"].startswith("msg_")
    assert "webhook-signature" not in hook.headers
    assert "webhook-timestamp" not in hook.headers
    assert hook.headers["content-type"] == "application/json"

    # Polling returns the same item, field for field (and only events of that type).
    polled = await _poll(client, user, "prospect_updated")
    assert polled == [body]
    [added] = await _poll(client, user, "prospect_added")
    assert added["prospect_id"] == prospect["id"]
    assert added["type"] == "prospect_added"

    # The subscription is an endpoint of the zapier flavour, with its delivery log.
    endpoint = (await client.get(f"/api/webhooks/{sub['id']}", headers=user.headers)).json()
    assert endpoint["flavour"] == "zapier"
    assert endpoint["event_types"] == ["prospect_updated"]
    log = (await client.get(f"/api/webhooks/{sub['id']}/deliveries", headers=user.headers)).json()["items"]
    assert [d["webhook_id"] for d in log] == [hook.msg_id]

    # The Zap is turned off on Zapier's side: its URL answers 410, and the subscription goes away.
    receiver.script("/zap/updated", default=Reply(410, b"gone"))
    again = await client.patch(
        f"/api/prospects/{prospect['id']}", json={"notes": "second"}, headers=user.headers
    )
    assert again.status_code == 200
    await _gone(client, user, sub["id"])
    assert len(receiver.received("/zap/updated")) == 2
    # Zapier may still call unsubscribe: it succeeds.
    response = await client.delete(f"/api/hooks/subscriptions/{sub['id']}", headers=user.headers)
    assert response.status_code == 204


async def test_unsubscribe_deletes_and_nothing_more_arrives(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    user = await users.create()
    sub = await _subscribe(client, user, receiver.url("/zap/new"), "prospect_added")
    await _prospect(client, user, name="First")
    await receiver.wait_for(1, "/zap/new")
    response = await client.delete(f"/api/hooks/subscriptions/{sub['id']}", headers=user.headers)
    assert response.status_code == 204
    assert_problem(await client.get(f"/api/webhooks/{sub['id']}", headers=user.headers), 404, "not-found")
    await _prospect(client, user, name="Second")
    # A standard endpoint subscribed to everything proves the second event was delivered at all.
    witness = await client.post(
        "/api/webhooks",
        json={"url": receiver.url("/witness"), "event_types": ["prospect_added"]},
        headers=user.headers,
    )
    assert witness.status_code == 201
    await _prospect(client, user, name="Third")
    await receiver.wait_for(1, "/witness")
    assert len(receiver.received("/zap/new")) == 1


async def test_subscriptions_refuse_bad_input_with_problems(client: Client, users: UserFactory) -> None:
    user = await users.create()
    unknown = await client.post(
        "/api/hooks/subscriptions",
        json={"target_url": "https://example.com/h", "event": "activity"},
        headers=user.headers,
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in unknown.json()["errors"]] == ["event"]
    bad_url = await client.post(
        "/api/hooks/subscriptions",
        json={"target_url": "ftp://example.com/h", "event": "prospect_added"},
        headers=user.headers,
    )
    assert bad_url.status_code == 422
    assert [e["field"] for e in bad_url.json()["errors"]] == ["target_url"]
    extra = await client.post(
        "/api/hooks/subscriptions",
        json={"target_url": "https://example.com/h", "event": "prospect_added", "secret": "x"},
        headers=user.headers,
    )
    assert extra.status_code in (400, 422)
    poll = await client.get("/api/hooks/events", params={"event": "nope"}, headers=user.headers)
    assert poll.status_code == 422
    too_many = await client.get(
        "/api/hooks/events", params={"event": "prospect_added", "limit": 101}, headers=user.headers
    )
    assert too_many.status_code in (400, 422)
    anonymous = await client.post(
        "/api/hooks/subscriptions", json={"target_url": "https://example.com/h", "event": "prospect_added"}
    )
    assert anonymous.status_code == 401
    assert (await client.get("/api/hooks/events", params={"event": "prospect_added"})).status_code == 401
    # Zapier endpoints are made only here, never as a flavour of POST /api/webhooks.
    direct = await client.post(
        "/api/webhooks",
        json={"url": "https://example.com/h", "event_types": ["prospect_added"], "flavour": "zapier"},
        headers=user.headers,
    )
    assert direct.status_code in (400, 422)


async def test_subscriptions_and_events_are_per_user(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    alice = await users.create()
    bob = await users.create()
    sub = await _subscribe(client, alice, receiver.url("/zap/alice"), "prospect_added")
    await _prospect(client, alice, name="Alice's prospect")
    await _prospect(client, bob, name="Bob's prospect")
    await receiver.wait_for(1, "/zap/alice")
    # Bob neither sees nor removes Alice's subscription; his DELETE is a no-op (204 reveals nothing).
    assert (
        await client.delete(f"/api/hooks/subscriptions/{sub['id']}", headers=bob.headers)
    ).status_code == 204
    assert (await client.get(f"/api/webhooks/{sub['id']}", headers=alice.headers)).status_code == 200
    assert_problem(await client.get(f"/api/webhooks/{sub['id']}", headers=bob.headers), 404, "not-found")
    assert (await client.get("/api/webhooks", headers=bob.headers)).json()["items"] == []
    # Polling shows each user only their own events.
    assert [i["name"] for i in await _poll(client, alice, "prospect_added")] == ["Alice's prospect"]
    assert [i["name"] for i in await _poll(client, bob, "prospect_added")] == ["Bob's prospect"]
    # Only Alice's prospect reached Alice's Zap.
    await asyncio.sleep(0.3)
    names = [msgspec.json.decode(r.body)["name"] for r in receiver.received("/zap/alice")]
    assert names == ["Alice's prospect"]
    # A non-admin may not act for another user.
    other = await client.get(
        "/api/hooks/events", params={"event": "prospect_added", "user_id": str(alice.id)}, headers=bob.headers
    )
    assert_problem(other, 403, "forbidden")


async def test_polling_is_newest_first_and_bounded(client: Client, users: UserFactory) -> None:
    user = await users.create()
    for n in range(4):
        await _prospect(client, user, name=f"P{n}")
    items = await _poll(client, user, "prospect_added", limit=3)
    assert [i["name"] for i in items] == ["P3", "P2", "P1"]
    assert [i["seq"] for i in items] == sorted((i["seq"] for i in items), reverse=True)
    assert len({i["id"] for i in items}) == 3


async def test_zapier_subscriptions_are_managed_by_zapier(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    user = await users.create()
    sub = await _subscribe(client, user, receiver.url("/zap/m"), "content_published")
    url = f"/api/webhooks/{sub['id']}"
    moved = await client.patch(url, json={"url": receiver.url("/elsewhere")}, headers=user.headers)
    assert moved.status_code == 409
    retyped = await client.patch(url, json={"event_types": ["*"]}, headers=user.headers)
    assert retyped.status_code == 409
    paused = await client.patch(url, json={"status": "inactive"}, headers=user.headers)
    assert paused.status_code == 200
    assert paused.json()["status"] == "inactive"
    listed = (await client.get("/api/webhooks", headers=user.headers)).json()["items"]
    assert [(i["id"], i["flavour"], i["description"]) for i in listed] == [
        (sub["id"], "zapier", "Zapier: Content Published")
    ]
    # The test send uses the trigger item shape too.
    test = await client.post(f"{url}/test", json={"event_type": "content_published"}, headers=user.headers)
    assert test.status_code == 200, test.text
    payload = test.json()["payload"]
    assert payload["type"] == "content_published"
    assert payload["id"].startswith("evt_test_")
    assert payload["test"] is True
    assert (await client.delete(url, headers=user.headers)).status_code == 204


async def test_triggers_list_the_six_events_with_examples(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.get("/api/hooks/triggers", headers=user.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert (
        {i["event"] for i in items}
        == set(TRIGGER_EVENTS)
        == {
            "prospect_added",
            "prospect_updated",
            "research_completed",
            "outreach_sent",
            "content_published",
            "automation_triggered",
        }
    )
    for item in items:
        assert item["label"]
        assert item["noun"]
        assert item["description"]
        assert list(item["example"])[:4] == ["id", "seq", "type", "occurred_at"]
        assert item["example"]["type"] == item["event"]


def test_trigger_item_renames_the_resource_id_and_drops_the_owner() -> None:
    import datetime as dt

    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    item = trigger_item(
        "outreach_sent",
        7,
        when,
        {"id": "o1", "user_id": "u1", "prospect_id": "p1", "type": "odd", "prospect": {"name": "Ada"}},
    )
    assert item == {
        "id": "evt_7",
        "seq": 7,
        "type": "outreach_sent",
        "occurred_at": "2026-01-02T03:04:05Z",
        "outreach_id": "o1",
        "prospect_id": "p1",
        "outreach_type": "odd",
        "prospect": {"name": "Ada"},
    }
    assert (
        trigger_item("x", None, when, {}, test_id=uuid.UUID(int=1).hex)["id"] == "evt_test_" + "0" * 31 + "1"
    )


async def _key(client: Client, user: SignedInUser, *scopes: str) -> dict[str, str]:
    response = await client.post(
        "/api/api-keys", json={"name": "zapier", "scopes": list(scopes)}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def test_an_api_key_needs_webhooks_write_to_subscribe_and_read_to_poll(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    user = await users.create()
    reader = await _key(client, user, "webhooks:read")
    writer = await _key(client, user, "webhooks:write", "webhooks:read")
    body = {"target_url": receiver.url("/zap/key"), "event": "prospect_added"}
    refused = await client.post("/api/hooks/subscriptions", json=body, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("insufficient-scope")
    assert "webhooks:write" in refused.json()["detail"]
    created = await client.post("/api/hooks/subscriptions", json=body, headers=writer)
    assert created.status_code == 201, created.text
    await _prospect(client, user, name="Through a key")
    await receiver.wait_for(1, "/zap/key")
    polled = await client.get("/api/hooks/events", params={"event": "prospect_added"}, headers=reader)
    assert polled.status_code == 200
    assert [i["name"] for i in polled.json()["items"]] == ["Through a key"]
    assert (await client.get("/api/hooks/triggers", headers=reader)).status_code == 200
    gone = await client.delete(f"/api/hooks/subscriptions/{created.json()['id']}", headers=reader)
    assert gone.status_code == 403
    gone = await client.delete(f"/api/hooks/subscriptions/{created.json()['id']}", headers=writer)
    assert gone.status_code == 204
