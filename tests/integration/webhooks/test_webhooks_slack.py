"""Slack endpoints end to end: real events, the real worker, a Slack stand-in on 127.0.0.1.

The stand-in (tests.support.slack_support) checks every message against Slack's documented shape and
answers like Slack: ``ok``, its error strings, or ``429`` with ``Retry-After``. Address-guard and
allow-list tests pin name resolution, so nothing can reach a real address.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.container import Services
from aiclone.events.types import EventType
from aiclone.settings import Settings, SettingsError, load_settings
from aiclone.webhooks import slack
from aiclone.webhooks.examples import example_data
from aiclone.webhooks.schemas import WebhookCreate
from aiclone.webhooks.sender import Sender
from aiclone.webhooks.transport import UnsafeDestination, WebhookNetwork
from tests.conftest import make_settings
from tests.integration.webhooks.test_webhooks_delivery import (
    _deliveries,
    _endpoint_row,
    _notifications,
    _until,
    _user,
    running,
)
from tests.support.factories import UserFactory
from tests.support.slack_support import like_slack, message_problems
from tests.support.webhook_receiver import Receiver, Reply

Client = AsyncTestClient[Litestar]
PUBLIC_URL = "https://app.example.com"
PUBLIC_V4 = "93.184.216.34"
HOOK = "/services/T0001/B0001/abcdefabcdef"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        webhook_allow_private=True,
        webhook_timeout_seconds=3.0,
        webhook_connect_timeout_seconds=1.0,
        webhook_lease_seconds=5.0,
        public_url=PUBLIC_URL,
    )


async def _slack_endpoint(services: Services, user: uuid.UUID, url: str, types: list[str]) -> uuid.UUID:
    created = await services.webhooks.create(user, WebhookCreate(url=url, event_types=types, flavour="slack"))
    assert created.flavour == "slack"
    return created.id


async def _record(services: Services, user: uuid.UUID, type: str, data: dict[str, Any]) -> None:
    async with services.db.session() as session:
        await services.events.record(session, user_id=user, type=type, data=data)


def _mrkdwn(message: dict[str, Any]) -> list[str]:
    """The fallback and every mrkdwn text of the message (what Slack parses for mentions and links)."""
    objects = []
    for block in message["blocks"]:
        objects += [block["text"]] if "text" in block else []
        objects += block.get("fields", []) + block.get("elements", [])
    return [message["text"]] + [o["text"] for o in objects if o["type"] == "mrkdwn"]


async def test_each_event_is_a_valid_slack_message_without_signature(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.behave(HOOK, like_slack)
    prospect_id = str(uuid.uuid4())
    sneaky = "<!channel> Ada & Co <https://evil.example|click>"
    events: list[tuple[str, dict[str, Any]]] = [
        (
            EventType.PROSPECT_ADDED,
            {
                "id": prospect_id,
                "name": sneaky,
                "company": "A" * 5000,
                "tags": ["hot", "b2b"],
                "fit_score": 90,
            },
        ),
        (
            EventType.RESEARCH_COMPLETED,
            {
                "task_id": str(uuid.uuid4()),
                "title": "T" * 400,
                "insight": {"summary": "a&b " * 2000, "key_findings": [f"finding {n}" for n in range(400)]},
            },
        ),
        (EventType.OUTREACH_SENT, example_data(EventType.OUTREACH_SENT)),
        (EventType.CONTENT_PUBLISHED, example_data(EventType.CONTENT_PUBLISHED)),
        (EventType.AUTOMATION_TRIGGERED, example_data(EventType.AUTOMATION_TRIGGERED)),
        # No renderer of its own: the generic one, with more facts than one section holds.
        (EventType.NOTIFICATION, {f"field_{n:03}": f"<value {n}>" for n in range(700)}),
    ]
    async with running(database_url, tmp_path, public_url=PUBLIC_URL) as services:
        user = await _user(services)
        endpoint = await _slack_endpoint(services, user, receiver.url(HOOK), [t for t, _ in events])
        for event_type, data in events:
            await _record(services, user, event_type, data)
        got = await receiver.wait_for(len(events), HOOK)

        async def settled() -> bool:
            return all(d.status == "succeeded" for d in await _deliveries(services, endpoint))

        await _until(settled)

    messages: dict[str, dict[str, Any]] = {}
    for request in got:
        assert message_problems(request.body) == []
        assert len(request.body) < 64 * 1024
        assert request.status == 200
        # Slack verifies nothing: no Standard Webhooks headers at all.
        assert not [name for name in request.headers if name.startswith("webhook-")]
        assert request.headers["content-type"] == "application/json"
        message = json.loads(request.body)
        context = message["blocks"][-1]
        assert context["type"] == "context"
        messages[context["elements"][0]["text"].split(" · ")[1]] = message
    assert set(messages) == {str(t) for t, _ in events}

    added = messages[EventType.PROSPECT_ADDED]
    header = added["blocks"][0]
    assert header["type"] == "header"
    # Plain text is shown as it is; everything in mrkdwn is escaped, so nobody is pinged.
    assert header["text"]["text"] == f"New prospect: {sneaky}"
    assert "&lt;!channel&gt; Ada &amp; Co &lt;https://evil.example|click&gt;" in added["text"]
    texts = _mrkdwn(added)
    assert len(texts) >= 5
    for text in texts:
        assert "<!channel>" not in text
        assert "<https://evil" not in text
    assert (
        f"<{PUBLIC_URL}/#/prospects/{prospect_id}|Open in aiclone>"
        in added["blocks"][-1]["elements"][0]["text"]
    )
    company = next(
        f["text"] for b in added["blocks"] for f in b.get("fields", []) if f["text"].startswith("*Company*")
    )
    assert company.endswith("…")
    assert len(company) <= 2000

    research = messages[EventType.RESEARCH_COMPLETED]
    assert research["blocks"][0]["text"]["text"].endswith("…")
    assert len(research["blocks"][0]["text"]["text"]) == 150
    summary = research["blocks"][1]["text"]["text"]
    assert len(summary) <= 3000
    assert summary.endswith("…")
    # Clipped on a character boundary of the escaped text, never inside "&amp;".
    assert summary[:-1].endswith(("a", "b", " ", "&amp;"))

    generic = messages[EventType.NOTIFICATION]
    sections = [b for b in generic["blocks"] if b["type"] == "section"]
    assert [len(b["fields"]) for b in sections] == [10, 10]
    assert generic["blocks"][-2]["elements"][0]["text"] == "…and 680 more fields"
    assert sections[0]["fields"][0]["text"] == "*Field 000*\n&lt;value 0&gt;"


async def test_slacks_permanent_answers_disable_the_endpoint_with_the_reason(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    permanent = {
        "/invalid_payload": (400, "invalid_payload"),
        "/action_prohibited": (403, "action_prohibited"),
        "/channel_not_found": (404, "channel_not_found"),
        "/channel_is_archived": (410, "channel_is_archived"),
        "/no_service": (404, "no_service"),
        "/no_active_hooks": (410, "no_active_hooks"),
        "/removed": (404, ""),
    }
    transient = {"/rollup_error": (500, "rollup_error"), "/forbidden_other": (403, "something_else")}
    for path, (status, body) in {**permanent, **transient}.items():
        receiver.script(path, default=Reply(status, body.encode()))
    async with running(database_url, tmp_path, public_url=PUBLIC_URL) as services:
        user = await _user(services)
        ids = {
            path: await _slack_endpoint(services, user, receiver.url(path), ["prospect_added"])
            for path in {**permanent, **transient}
        }
        await _record(services, user, EventType.PROSPECT_ADDED, {"id": str(uuid.uuid4()), "name": "Ada"})

        async def all_settled() -> bool:
            rows = [d for endpoint in ids.values() for d in await _deliveries(services, endpoint)]
            return len(rows) == len(ids) and all(d.status in ("succeeded", "failed") for d in rows)

        await _until(all_settled)
        endpoints = {path: await _endpoint_row(services, endpoint) for path, endpoint in ids.items()}
        deliveries = {path: (await _deliveries(services, endpoint))[0] for path, endpoint in ids.items()}
        notes = await _notifications(services, user)

    for path, (status, code) in permanent.items():
        endpoint = endpoints[path]
        assert endpoint.status == "failed", path
        reason = endpoint.disabled_reason or ""
        assert reason.startswith(f"Slack answered HTTP {status}"), reason
        assert code in reason
        # Permanent: no retry was spent on it.
        assert deliveries[path].attempts == 1, path
        assert len(receiver.received(path)) == 1
    assert "removed" in (endpoints["/removed"].disabled_reason or "")
    for path in transient:
        assert endpoints[path].status == "active", path
        # FAST: one attempt and three retries, all used.
        assert deliveries[path].attempts == 4, path
    disabled = [n for n in notes if n.title == "Webhook endpoint disabled"]
    assert len(disabled) == len(permanent)
    assert any("channel_not_found" in n.body for n in disabled)
    # A Slack webhook URL is a credential: notifications name it without its last segment.
    for note in notes:
        assert not any(receiver.url(path) in note.body for path in ids), note.body
    assert any(receiver.url("/…") in n.body for n in disabled)


async def test_rate_limited_retry_after_is_honoured(
    database_url: str, tmp_path: Path, clean_tables: None, receiver: Receiver
) -> None:
    receiver.script(HOOK, Reply(429, b"rate_limited", headers={"Retry-After": "1"}))
    receiver.behave(HOOK, like_slack)
    async with running(database_url, tmp_path, public_url=PUBLIC_URL) as services:
        user = await _user(services)
        endpoint = await _slack_endpoint(services, user, receiver.url(HOOK), ["prospect_added"])
        await _record(services, user, EventType.PROSPECT_ADDED, {"id": str(uuid.uuid4()), "name": "Ada"})

        async def succeeded() -> bool:
            rows = await _deliveries(services, endpoint)
            return bool(rows) and rows[0].status == "succeeded"

        await _until(succeeded)
        row = await _endpoint_row(services, endpoint)
    first, second = receiver.received(HOOK)
    assert (first.status, second.status) == (429, 200)
    # The schedule says 50 ms; Slack asked for a second.
    assert second.at - first.at >= 1.0
    assert first.body == second.body
    assert row.status == "active"
    assert row.consecutive_failures == 0


async def test_slack_endpoints_through_the_api(
    client: Client, users: UserFactory, receiver: Receiver
) -> None:
    receiver.behave(HOOK, like_slack)
    user = await users.create()
    created = await client.post(
        "/api/webhooks",
        json={"url": receiver.url(HOOK), "event_types": ["*"], "flavour": "slack", "description": "#sales"},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["flavour"] == "slack"
    standard = await client.post(
        "/api/webhooks", json={"url": receiver.url("/std"), "event_types": ["*"]}, headers=user.headers
    )
    assert standard.json()["flavour"] == "standard"
    unknown = await client.post(
        "/api/webhooks",
        json={"url": receiver.url(HOOK), "event_types": ["*"], "flavour": "teams"},
        headers=user.headers,
    )
    assert unknown.status_code in (400, 422)
    test = await client.post(
        f"/api/webhooks/{body['id']}/test", json={"event_type": "prospect_added"}, headers=user.headers
    )
    assert test.status_code == 200, test.text
    assert test.json()["status"] == "succeeded"
    [request] = receiver.received(HOOK)
    assert message_problems(request.body) == []
    message = json.loads(request.body)
    assert message["blocks"][0]["text"]["text"] == "[test] New prospect: Ada Lovelace"
    assert test.json()["payload"] == message
    # The flavour is fixed: an edit keeps it.
    patched = await client.patch(
        f"/api/webhooks/{body['id']}", json={"description": "#deals"}, headers=user.headers
    )
    assert patched.json()["flavour"] == "slack"


def _pinned(address: str) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


async def test_production_allows_only_the_slack_hosts_for_slack_endpoints() -> None:
    network = WebhookNetwork(allow_private=False, production=True, resolver=_pinned(PUBLIC_V4))
    good = "https://hooks.slack.com/services/T0001/B0001/abcdef"
    assert await network.check(good, flavour="slack") == good
    assert await network.check("https://HOOKS.SLACK.COM./services/x", flavour="slack")
    for bad in (
        "https://hooks.slack.com.evil.example/services/x",
        "https://evil.example/services/x",
        "https://slack.com/services/x",
        "https://hooks.slack.com:8443/services/x",
        "http://hooks.slack.com/services/x",
    ):
        with pytest.raises(UnsafeDestination, match=r"Slack incoming-webhook URL|https in production"):
            await network.check(bad, flavour="slack")
    # Other flavours are not held to the Slack hosts.
    assert await network.check("https://evil.example/services/x", flavour="standard")
    # The address guard still applies to the allowed host.
    rebound = WebhookNetwork(allow_private=False, production=True, resolver=_pinned("10.0.0.7"))
    with pytest.raises(UnsafeDestination, match="private"):
        await rebound.check(good, flavour="slack")
    # Outside production any URL will do (a local stand-in for Slack, say).
    development = WebhookNetwork(allow_private=False, production=False, resolver=_pinned(PUBLIC_V4))
    assert await development.check("https://chat.example.org/hook", flavour="slack")
    custom = WebhookNetwork(
        allow_private=False,
        production=True,
        resolver=_pinned(PUBLIC_V4),
        slack_hosts=("hooks.slack-gov.com",),
    )
    assert await custom.check("https://hooks.slack-gov.com/services/x", flavour="slack")
    with pytest.raises(UnsafeDestination):
        await custom.check(good, flavour="slack")


async def test_production_rules_are_checked_again_when_sending(receiver: Receiver) -> None:
    network = WebhookNetwork(allow_private=True, production=True)
    sender = Sender(network, user_agent="t", connect_timeout=1.0, total_timeout=2.0, endpoint_concurrency=1)
    try:
        outcome = await sender.send(
            endpoint_id=uuid.uuid4(),
            url=receiver.url(HOOK),
            msg_id="msg_x",
            body=b"{}",
            keys=[],
            flavour="slack",
        )
    finally:
        await sender.aclose()
    assert outcome.error_class == "blocked"
    assert receiver.received() == []


def test_slack_hosts_setting(tmp_path: Path) -> None:
    loaded = load_settings(
        {
            "AICLONE_SLACK_WEBHOOK_HOSTS": "hooks.slack.com, hooks.slack-gov.com",
            "AICLONE_DATA_DIR": str(tmp_path),
        },
        dotenv=None,
    )
    assert loaded.webhooks.slack_hosts == ("hooks.slack.com", "hooks.slack-gov.com")
    assert make_settings("", tmp_path).webhooks.slack_hosts == ("hooks.slack.com",)
    with pytest.raises(SettingsError, match="AICLONE_SLACK_WEBHOOK_HOSTS"):
        load_settings({"AICLONE_SLACK_WEBHOOK_HOSTS": "https://hooks.slack.com/"}, dotenv=None)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 10, 150, 3000])
def test_clip_respects_the_limit_and_never_splits_an_escape(limit: int) -> None:
    for raw in ("a&b" * 2000, "<>" * 3000, "x" * limit, "é&" * 1500):
        text = slack.mrkdwn(raw, limit)
        assert len(text) <= limit
        if len(slack.escape(raw)) > limit:
            assert text.endswith(slack.ELLIPSIS)
        body = text.removesuffix(slack.ELLIPSIS)
        last = body.rfind("&")
        assert last == -1 or ";" in body[last:], text


def test_permanent_failure_table() -> None:
    assert slack.permanent_failure(200, "ok") is None
    assert slack.permanent_failure(429, "rate_limited") is None
    assert slack.permanent_failure(500, "rollup_error") is None
    assert slack.permanent_failure(403, "something_else") is None
    assert slack.permanent_failure(None, None) is None
    reason = slack.permanent_failure(404, "channel_not_found\n")
    assert reason == "Slack answered HTTP 404 channel_not_found: the channel does not exist any more"
    assert slack.permanent_failure(410, "<html>") == "Slack answered HTTP 410: the webhook was removed"


def test_a_message_never_has_more_than_50_blocks() -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    message = slack.render("x", when, {f"f{n}": n for n in range(5000)}, public_url="https://a.example")
    assert len(message["blocks"]) <= slack.MAX_BLOCKS
    assert message_problems(json.dumps(message).encode()) == []


def test_rendering_of_a_timestamp_and_a_link() -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    message = slack.render(
        "content_published", when, {"id": "c1", "title": "Hi"}, public_url="https://a.example|x"
    )
    context = message["blocks"][-1]["elements"][0]["text"]
    assert context.startswith("<https://a.example%7Cx/#/activity|Open in aiclone>")
    assert context.endswith("2026-03-04 05:06 UTC")
