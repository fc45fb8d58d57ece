"""Automations through the HTTP API: rules, the runs they cause, and what those runs record."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from aiclone.activities.feed import describe
from aiclone.automations.models import Automation
from aiclone.automations.runs import UNEXPECTED
from aiclone.automations.schemas import AutomationCreate, NotifyAction, TagProspectAction
from aiclone.container import Services
from aiclone.events.broker import Subscription
from aiclone.events.log import events_after
from aiclone.events.types import EventRecord, EventType
from aiclone.prospects.schemas import ProspectCreate
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.eventlog import (
    HookFailure,
    assert_internal_error,
    events_of,
    field_errors,
    install_failing_hook,
)
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
# A fixed id that matches nothing (parametrized ids must be the same in every test process).
MISSING_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
API = "/api/automations"
NOTIFY = {"type": "notify", "title": "New prospect {{name}}"}
RESEARCH = {"type": "create_research_task"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Queued research tasks stay queued: no worker fetches the prospects' websites.
    return make_settings(database_url, tmp_path, run_workers=False)


async def _rule(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    payload = {"name": "Rule", "trigger_event": "prospect_added", "action": NOTIFY, **fields}
    response = await client.post(API, json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _prospect(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/prospects", json={"name": "Ada Lovelace", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _get(client: Client, user: SignedInUser, rule: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"{API}/{rule['id']}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _tasks(client: Client, user: SignedInUser) -> list[dict[str, Any]]:
    response = await client.get("/api/research-tasks", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def _notifications(client: Client, user: SignedInUser) -> list[dict[str, Any]]:
    response = await client.get("/api/notifications", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def _rule_rows(services: Services, user_id: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        return int(await session.scalar(select(func.count()).where(Automation.user_id == user_id)) or 0)


def _types(events: list[EventRecord]) -> list[tuple[str, bool]]:
    return [(e.type, e.by_automation) for e in events]


# --- access --------------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", API, {"name": "r", "trigger_event": "prospect_added", "action": NOTIFY}),
    ("GET", API, None),
    ("GET", f"{API}/{MISSING_ID}", None),
    ("PATCH", f"{API}/{MISSING_ID}", {"name": "y"}),
    ("DELETE", f"{API}/{MISSING_ID}", None),
    ("POST", f"{API}/{MISSING_ID}/trigger", {"data": {}}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client: Client, method: str, path: str, body: Any) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_non_admin_naming_another_user_is_403(
    client: Client, users: UserFactory, services: Services, method: str, path: str, body: Any
) -> None:
    user, other = await users.create(), await users.create()
    response = await client.request(
        method, path, json=body, params={"user_id": str(other.id)}, headers=user.headers
    )
    assert_problem(response, 403, "forbidden")
    assert await _rule_rows(services, other.id) == 0


async def test_another_users_automation_is_404(
    client: Client, users: UserFactory, services: Services
) -> None:
    owner, other = await users.create(), await users.create()
    rule = await _rule(client, owner)
    path = f"{API}/{rule['id']}"
    assert_problem(await client.get(path, headers=other.headers), 404, "not-found")
    assert_problem(await client.patch(path, json={"name": "mine"}, headers=other.headers), 404, "not-found")
    assert_problem(await client.delete(path, headers=other.headers), 404, "not-found")
    assert_problem(
        await client.post(f"{path}/trigger", json={"data": {}}, headers=other.headers), 404, "not-found"
    )
    assert (await client.get(API, headers=other.headers)).json()["items"] == []
    assert await _get(client, owner, rule) == rule
    assert await events_of(services, owner.id) == []
    assert await events_of(services, other.id) == []
    # Another user's events never run the owner's rules.
    await _prospect(client, other)
    assert (await _get(client, owner, rule))["run_count"] == 0


async def test_unknown_automation_is_404(client: Client, users: UserFactory) -> None:
    user = await users.create()
    path = f"{API}/{MISSING_ID}"
    assert_problem(await client.get(path, headers=user.headers), 404, "not-found")
    assert_problem(await client.patch(path, json={"name": "x"}, headers=user.headers), 404, "not-found")
    assert_problem(await client.delete(path, headers=user.headers), 404, "not-found")
    assert_problem(await client.post(f"{path}/trigger", headers=user.headers), 404, "not-found")


async def test_admin_acts_on_another_users_automations(
    client: Client, users: UserFactory, services: Services
) -> None:
    user, admin = await users.create(), await users.create(admin=True)
    scope = {"user_id": str(user.id)}
    payload = {"name": "For the user", "trigger_event": "prospect_added", "action": NOTIFY}
    created = await client.post(API, json=payload, params=scope, headers=admin.headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["user_id"] == str(user.id)
    path = f"{API}/{rule['id']}"
    # Without user_id the admin acts on their own (empty) data.
    assert (await client.get(path, headers=admin.headers)).status_code == 404
    assert (await client.get(API, headers=admin.headers)).json()["items"] == []
    listed = await client.get(API, params=scope, headers=admin.headers)
    assert [r["id"] for r in listed.json()["items"]] == [rule["id"]]
    patched = await client.patch(path, json={"enabled": False}, params=scope, headers=admin.headers)
    assert patched.json()["enabled"] is False
    ran = await client.post(
        f"{path}/trigger", json={"data": {"name": "X"}}, params=scope, headers=admin.headers
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["status"] == "ok"
    assert [e.type for e in await events_of(services, user.id)] == ["notification", "automation_triggered"]
    assert await events_of(services, admin.id) == []
    assert (await client.delete(path, params=scope, headers=admin.headers)).status_code == 204
    missing = await client.post(
        API, json=payload, params={"user_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert missing.status_code == 404


# --- the rules -----------------------------------------------------------------------------


async def test_create_get_edit_delete(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    rule = await _rule(
        client,
        user,
        name="  Tag big fish ",
        trigger_event="prospect_updated",
        conditions=[{"field": "fit_score", "op": "gte", "value": 80}],
        action={"type": "tag_prospect", "add": [" VIP", "vip", "Big"]},
    )
    assert rule["name"] == "Tag big fish"
    assert rule["enabled"] is True
    assert rule["conditions"] == [{"field": "fit_score", "op": "gte", "value": 80}]
    assert rule["action"] == {"type": "tag_prospect", "add": ["vip", "big"], "remove": []}
    assert (rule["run_count"], rule["failure_count"], rule["last_run_at"], rule["last_error"]) == (
        0,
        0,
        None,
        None,
    )
    assert await _get(client, user, rule) == rule
    path = f"{API}/{rule['id']}"
    edited = await client.patch(
        path,
        json={
            "enabled": False,
            "conditions": [],
            "action": {"type": "notify", "title": "t", "level": "success"},
        },
        headers=user.headers,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["enabled"], body["conditions"], body["name"]) == (False, [], "Tag big fish")
    assert body["action"] == {"type": "notify", "title": "t", "body": "", "level": "success"}
    assert body["updated_at"] >= rule["updated_at"]
    unchanged = await client.patch(path, json={}, headers=user.headers)
    assert unchanged.json() == body
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 404
    # Rule changes are configuration: no event type exists for them and none is written.
    assert await events_of(services, user.id) == []


def _many(n: int) -> list[dict[str, Any]]:
    return [{"field": "name", "op": "exists"}] * n


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"conditions": [{"field": "name", "op": "like", "value": "x"}]}, "conditions[0].op"),
        (
            {"conditions": [{"field": "name", "op": "eq"}, {"field": "a b", "op": "eq"}]},
            "conditions[1].field",
        ),
        ({"conditions": [{"field": "name", "op": "in", "value": "x"}]}, "conditions[0].value"),
        ({"conditions": [{"field": "name", "op": "eq", "extra": 1}]}, "conditions[0].extra"),
        ({"conditions": _many(11)}, "conditions"),
        ({"trigger_event": "automation_triggered"}, "trigger_event"),
        ({"trigger_event": "activity"}, "trigger_event"),
        ({"trigger_event": "notification"}, "trigger_event"),
        ({"trigger_event": "nope"}, "trigger_event"),
        ({"action": {"type": "send_email", "to": "x"}}, "action.type"),
        ({"action": {"title": "no type"}}, "action.type"),
        ({"action": {"type": "notify"}}, "action.title"),
        ({"action": {"type": "notify", "title": "t", "level": "loud"}}, "action.level"),
        ({"action": {"type": "tag_prospect"}}, "action.add"),
        ({"action": {"type": "tag_prospect", "add": ["a"], "remove": ["A"]}}, "action.remove"),
        ({"action": {"type": "tag_prospect", "add": ["a,b"]}}, "action.add[0]"),
        ({"trigger_event": "research_completed", "action": RESEARCH}, "action.type"),
        ({"trigger_event": "task_completed", "action": RESEARCH}, "action.type"),
        ({"action": {**RESEARCH, "priority": "urgent"}}, "action.priority"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"role": "admin"}, "role"),
    ],
)
async def test_invalid_rules_are_422(
    client: Client, users: UserFactory, services: Services, payload: dict[str, Any], field: str
) -> None:
    user = await users.create()
    body = {"name": "Rule", "trigger_event": "prospect_added", "action": NOTIFY, **payload}
    response = await client.post(API, json=body, headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert field in field_errors(response), response.text
    assert await _rule_rows(services, user.id) == 0


async def test_invalid_changes_are_422_and_change_nothing(client: Client, users: UserFactory) -> None:
    user = await users.create()
    rule = await _rule(client, user, action=RESEARCH)
    path = f"{API}/{rule['id']}"
    for change, field in [
        ({"trigger_event": "task_update"}, "action.type"),
        (
            {"conditions": [{"field": "a", "op": "eq"}, {"field": "b", "op": "gt", "value": [1]}]},
            "conditions[1].value",
        ),
        ({"name": " "}, "name"),
        ({"action": {"type": "tag_prospect", "add": []}}, "action.add"),
        ({"trigger_event": "automation_triggered"}, "trigger_event"),
        ({"enabled": "yes"}, "enabled"),
    ]:
        response = await client.patch(path, json=change, headers=user.headers)
        assert response.status_code == 422, (change, response.text)
        assert field in field_errors(response), response.text
    assert await _get(client, user, rule) == rule


async def test_rules_per_user_are_capped(app: Litestar, client: Client, users: UserFactory) -> None:
    app.state.services.automations.max_per_user = 2
    user, other = await users.create(), await users.create()
    await _rule(client, user)
    await _rule(client, user)
    response = await client.post(
        API, json={"name": "third", "trigger_event": "prospect_added", "action": NOTIFY}, headers=user.headers
    )
    assert_problem(response, 409, "conflict")
    await _rule(client, other)


async def test_list_filters_and_pages(client: Client, users: UserFactory) -> None:
    user, other = await users.create(), await users.create()
    for i in range(7):
        await _rule(
            client,
            user,
            name=f"r{i}",
            enabled=i % 2 == 0,
            trigger_event="content_published" if i % 3 == 0 else "prospect_added",
        )
    await _rule(client, other, name="theirs")

    async def walk(limit: int, **params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        for _ in range(20):
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = await client.get(API, params=query, headers=user.headers)
            assert response.status_code == 200, response.text
            seen += [r["name"] for r in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen
        raise AssertionError("pagination did not end")

    assert await walk(3) == [f"r{i}" for i in reversed(range(7))]
    assert await walk(2, enabled="true") == ["r6", "r4", "r2", "r0"]
    assert await walk(2, enabled="false") == ["r5", "r3", "r1"]
    assert await walk(1, trigger_event="content_published") == ["r6", "r3", "r0"]
    assert await walk(5, trigger_event="content_published", enabled="false") == ["r3"]
    for params in (
        {"trigger_event": "automation_triggered"},
        {"limit": 201},
        {"limit": 0},
        {"cursor": "bm90LWpzb24"},
    ):
        response = await client.get(API, params=params, headers=user.headers)
        assert_problem(response, 422, "validation-error", note=params)


# --- runs ----------------------------------------------------------------------------------


async def test_research_rule_queues_a_task_for_the_prospects_website(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    rule = await _rule(
        client,
        user,
        name="Research good fits",
        conditions=[{"field": "fit_score", "op": "gte", "value": 50}, {"field": "website", "op": "exists"}],
        action={"type": "create_research_task", "priority": "high"},
    )
    await _prospect(client, user, name="Low Fit", website="https://low.example", fit_score=10)
    assert await _tasks(client, user) == []
    prospect = await _prospect(client, user, website="https://ada.example/about", fit_score=80)
    (task,) = await _tasks(client, user)
    assert task["input_source"] == "https://ada.example/about"
    assert (task["source_type"], task["engine"], task["priority"], task["status"]) == (
        "urls",
        "web",
        "high",
        "queued",
    )
    assert (task["prospect_id"], task["title"]) == (prospect["id"], "Research Ada Lovelace")
    events = await events_of(services, user.id)
    assert _types(events) == [
        ("prospect_added", False),
        ("prospect_added", False),
        ("task_update", True),
        ("automation_triggered", True),
    ]
    queued, triggered = events[2], events[3]
    assert queued.data["task_id"] == task["id"]
    assert triggered.data["automation_id"] == rule["id"]
    assert triggered.data["automation_name"] == "Research good fits"
    assert triggered.data["action"] == "create_research_task"
    assert (triggered.data["trigger_event"], triggered.data["trigger_seq"]) == (
        "prospect_added",
        events[1].seq,
    )
    assert triggered.data["manual"] is False
    assert triggered.data["result"] == {"task_id": task["id"], "prospect_id": prospect["id"]}
    assert "https://ada.example/about" in triggered.data["summary"]
    # The activity feed shows the run and what it did.
    assert describe(triggered) == (
        "Automation ran: Research good fits",
        "Queued research of https://ada.example/about for Ada Lovelace",
        None,
    )
    after = await _get(client, user, rule)
    assert (after["run_count"], after["failure_count"]) == (1, 0)
    assert after["last_run_at"] is not None


async def test_research_title_template(client: Client, users: UserFactory) -> None:
    user = await users.create()
    await _rule(client, user, action={**RESEARCH, "title": "Dig into {{company}} ({{name}})"})
    await _prospect(client, user, company="Analytical Engines", website="https://ae.example")
    (task,) = await _tasks(client, user)
    assert task["title"] == "Dig into Analytical Engines (Ada Lovelace)"


async def test_notify_rule_fills_its_template(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    await _rule(
        client,
        user,
        trigger_event="content_published",
        conditions=[{"field": "channel", "op": "in", "value": ["blog", "newsletter"]}],
        action={
            "type": "notify",
            "title": "Published: {{title}}",
            "body": "On {{channel}}, tags {{tags}}; {{missing}}{0}",
            "level": "success",
        },
    )
    for channel in ("linkedin", "blog"):
        item = await client.post(
            "/api/content",
            json={"title": f"On {channel}", "body": "b", "channel": channel, "tags": ["ai"]},
            headers=user.headers,
        )
        assert (
            await client.post(f"/api/content/{item.json()['id']}/publish", headers=user.headers)
        ).status_code == 200
    (note,) = await _notifications(client, user)
    assert (note["title"], note["body"], note["level"]) == (
        "Published: On blog",
        'On blog, tags ["ai"]; {0}',
        "success",
    )
    events = [e for e in await events_of(services, user.id) if e.type != "content_updated"]
    assert _types(events) == [
        ("content_published", False),
        ("content_published", False),
        ("notification", True),
        ("automation_triggered", True),
    ]
    assert events[3].data["result"] == {"notification_id": note["id"]}
    assert events[3].data["summary"] == "Notified: Published: On blog"


async def test_tag_rule_on_prospect_updated_does_not_loop(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    # Two rules on the event their own actions emit: each runs once per user change.
    first = await _rule(
        client,
        user,
        name="touch",
        trigger_event="prospect_updated",
        action={"type": "tag_prospect", "add": ["touched"], "remove": ["cold"]},
    )
    second = await _rule(
        client,
        user,
        name="seen",
        trigger_event="prospect_updated",
        action={"type": "tag_prospect", "add": ["seen"]},
    )
    prospect = await _prospect(client, user, tags=["cold", "london"])
    path = f"/api/prospects/{prospect['id']}"
    response = await client.patch(path, json={"notes": "met at the fair"}, headers=user.headers)
    assert response.status_code == 200
    assert (await client.get(path, headers=user.headers)).json()["tags"] == ["london", "touched", "seen"]
    events = await events_of(services, user.id)
    assert _types(events) == [
        ("prospect_added", False),
        ("prospect_updated", False),
        ("prospect_updated", True),
        ("automation_triggered", True),
        ("prospect_updated", True),
        ("automation_triggered", True),
    ]
    assert (events[2].data["changes"], events[2].data["tags"]) == (["tags"], ["london", "touched"])
    assert events[3].data["result"] == {
        "prospect_id": prospect["id"],
        "added": ["touched"],
        "removed": ["cold"],
    }
    assert events[3].data["summary"] == "Tagged Ada Lovelace: +touched -cold"
    assert events[4].data["tags"] == ["london", "touched", "seen"]
    # The next user change runs both again; the tags are already there, so nothing changes.
    await client.patch(path, json={"notes": "again"}, headers=user.headers)
    events = await events_of(services, user.id)
    assert _types(events[6:]) == [
        ("prospect_updated", False),
        ("automation_triggered", True),
        ("automation_triggered", True),
    ]
    assert events[7].data["result"]["added"] == []
    assert (await _get(client, user, first))["run_count"] == 2
    assert (await _get(client, user, second))["run_count"] == 2


async def test_disabled_rules_do_not_fire(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    rule = await _rule(client, user, enabled=False)
    await _prospect(client, user)
    assert _types(await events_of(services, user.id)) == [("prospect_added", False)]
    await client.patch(f"{API}/{rule['id']}", json={"enabled": True}, headers=user.headers)
    await _prospect(client, user, name="Second")
    assert [e.type for e in await events_of(services, user.id)] == [
        "prospect_added",
        "prospect_added",
        "notification",
        "automation_triggered",
    ]
    assert (await _get(client, user, rule))["run_count"] == 1


async def test_failing_action_is_recorded_and_keeps_the_triggering_change(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    rule = await _rule(client, user, name="Research everyone", action=RESEARCH)
    first = await _prospect(client, user, name="No Site")
    # The prospect was created although its rule failed.
    assert (await client.get(f"/api/prospects/{first['id']}", headers=user.headers)).status_code == 200
    assert await _tasks(client, user) == []
    failed = await _get(client, user, rule)
    assert (failed["run_count"], failed["failure_count"]) == (0, 1)
    assert "has no website" in failed["last_error"]
    assert failed["last_failed_at"] is not None
    (note,) = await _notifications(client, user)
    assert (note["title"], note["level"]) == ("Automation failed: Research everyone", "warning")
    assert "has no website" in note["body"]
    # Failing again in a row only counts; it does not notify again.
    await _prospect(client, user, name="No Site Either")
    assert (await _get(client, user, rule))["failure_count"] == 2
    assert len(await _notifications(client, user)) == 1
    # A success, then a failure: the owner hears about it again.
    await _prospect(client, user, name="Has Site", website="https://site.example")
    await _prospect(client, user, name="No Site Again")
    after = await _get(client, user, rule)
    assert (after["run_count"], after["failure_count"]) == (1, 3)
    assert len(await _notifications(client, user)) == 2
    assert _types(await events_of(services, user.id)) == [
        ("prospect_added", False),
        ("notification", True),
        ("prospect_added", False),
        ("prospect_added", False),
        ("task_update", True),
        ("automation_triggered", True),
        ("prospect_added", False),
        ("notification", True),
    ]


async def test_rule_on_a_deleted_prospect_fails_without_undoing_the_delete(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    rule = await _rule(
        client, user, trigger_event="prospect_updated", action={"type": "tag_prospect", "add": ["x"]}
    )
    assert (await client.delete(f"/api/prospects/{prospect['id']}", headers=user.headers)).status_code == 204
    assert (await client.get(f"/api/prospects/{prospect['id']}", headers=user.headers)).status_code == 404
    after = await _get(client, user, rule)
    assert after["failure_count"] == 1
    assert "does not exist" in after["last_error"]


async def test_a_failing_hook_after_the_change_leaves_nothing(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    rule = await _rule(client, user, action=RESEARCH)
    hook = install_failing_hook(app)
    hook.arm("prospect_added")
    response = await client.post(
        "/api/prospects", json={"name": "A", "website": "https://a.example"}, headers=user.headers
    )
    assert_internal_error(response)
    # Neither the prospect, nor the task, nor the rule's run, nor any event.
    assert (await client.get("/api/prospects", headers=user.headers)).json()["items"] == []
    assert await _tasks(client, user) == []
    assert await _get(client, user, rule) == rule
    assert await events_of(services, user.id) == []
    # The same for a manual run: a failure after the action leaves neither its notification nor
    # the rule's bookkeeping.
    hook.arm("automation_triggered")
    note = await _rule(client, user, name="note")
    assert_internal_error(await client.post(f"{API}/{note['id']}/trigger", headers=user.headers))
    assert await _get(client, user, note) == note
    assert await _notifications(client, user) == []
    assert await events_of(services, user.id) == []
    await client.delete(f"{API}/{note['id']}", headers=user.headers)
    hook.arm()
    await _prospect(client, user, website="https://a.example")
    assert [e.type for e in await events_of(services, user.id)] == [
        "prospect_added",
        "task_update",
        "automation_triggered",
    ]


async def test_manual_trigger(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    rule = await _rule(
        client,
        user,
        enabled=False,
        conditions=[{"field": "fit_score", "op": "gt", "value": 90}],
        action={"type": "notify", "title": "Hello {{name}}", "body": "{{company}}"},
    )
    path = f"{API}/{rule['id']}/trigger"
    response = await client.post(
        path, json={"data": {"name": "Grace", "company": "Navy"}}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["error"], result["conditions_matched"]) == ("ok", None, False)
    assert result["automation"]["run_count"] == 1
    assert result["event"]["manual"] is True
    assert result["event"]["trigger_seq"] is None
    (note,) = await _notifications(client, user)
    assert (note["title"], note["body"]) == ("Hello Grace", "Navy")
    events = await events_of(services, user.id)
    assert _types(events) == [("notification", True), ("automation_triggered", True)]
    assert events[1].seq == result["event_seq"]
    assert events[1].data == result["event"]
    # No body at all: empty sample data.
    empty = await client.post(path, headers=user.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json()["status"] == "ok"
    for bad in ({"data": {"x": "y" * 20_000}}, {"data": [1]}, {"sample": {}}):
        assert (await client.post(path, json=bad, headers=user.headers)).status_code == 422, bad


async def test_manual_trigger_that_fails_is_reported_and_recorded(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    rule = await _rule(client, user, action={"type": "tag_prospect", "add": ["x"]})
    path = f"{API}/{rule['id']}/trigger"
    for data, message in (
        ({"prospect_id": str(MISSING_ID)}, "does not exist"),
        ({"prospect_id": "not-a-uuid"}, "names no prospect"),
        ({}, "names no prospect"),
    ):
        response = await client.post(path, json={"data": data}, headers=user.headers)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["status"] == "failed"
        assert message in result["error"]
        assert (result["event_seq"], result["event"]) == (None, None)
    after = await _get(client, user, rule)
    assert (after["run_count"], after["failure_count"]) == (0, 3)
    # The caller saw the failure: a manual run does not notify, and records no event.
    assert await events_of(services, user.id) == []
    prospect = await _prospect(client, user, tags=["a"])
    ok = await client.post(path, json={"data": {"id": prospect["id"]}}, headers=user.headers)
    assert ok.json()["status"] == "ok"
    assert (await client.get(f"/api/prospects/{prospect['id']}", headers=user.headers)).json()["tags"] == [
        "a",
        "x",
    ]


async def _drain_until(sub: Subscription, seq: int) -> list[EventRecord]:
    got: list[EventRecord] = []
    async with asyncio.timeout(30):
        while not got or got[-1].seq != seq:
            message = await sub.get()
            assert isinstance(message, EventRecord), message
            got.append(message)
    return got


async def test_rolled_back_action_events_are_never_published(users: UserFactory, services: Services) -> None:
    """An action that wrote events and then failed: its events leave neither rows nor live messages.

    The tag action's ``prospect_updated`` gets its feed line (an ``activity`` event, recorded by
    an earlier hook) before a later hook breaks it; the savepoint rollback must take that line
    off the list published after commit too, or subscribers would see an event that does not
    exist, under a seq that the next event reuses.
    """
    await services.broker.start()
    user = await users.create()
    failing = BreakAutomatedProspectUpdates()
    services.events.add_hook(failing)
    tag = TagProspectAction(add=["x"])
    await services.automations.create(
        user.id, AutomationCreate(name="tag", trigger_event="prospect_added", action=tag)
    )
    await services.automations.create(
        user.id,
        AutomationCreate(name="note", trigger_event="prospect_added", action=NotifyAction(title="{{name}}")),
    )
    sub = services.broker.subscribe(user.id)
    try:
        first = await services.prospects.create(user.id, ProspectCreate(name="Ada"))
        marker = await services.prospects.create(user.id, ProspectCreate(name="Marker"))
        async with services.db.read_session() as session:
            stored = await events_after(session, user.id, 0)
        marker_seq = next(
            e.seq for e in stored if e.type == "prospect_added" and e.data["id"] == str(marker.id)
        )
        published = await _drain_until(sub, marker_seq)
    finally:
        sub.close()
    assert failing.raised == 2
    # Exactly the stored events were published, each once; seq has no gap.
    assert sorted((e.seq, e.type) for e in published) == [(e.seq, e.type) for e in stored]
    by_seq = {e.seq: e for e in stored}
    assert all(e.data == by_seq[e.seq].data for e in published)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    domain = [e for e in stored if e.type != "activity"]
    # The tag rule failed twice (one warning: the first failure), the notify rule ran twice.
    assert [(e.type, e.by_automation) for e in domain] == [
        ("prospect_added", False),
        ("notification", True),
        ("notification", True),
        ("automation_triggered", True),
        ("prospect_added", False),
        ("notification", True),
        ("automation_triggered", True),
    ]
    assert domain[1].data["notification"]["title"] == "Automation failed: tag"
    assert (await services.prospects.get(user.id, first.id)).tags == []
    async with services.db.read_session() as session:
        rule = await session.scalar(select(Automation).where(Automation.name == "tag"))
    assert rule is not None
    assert (rule.run_count, rule.failure_count, rule.last_error) == (0, 2, UNEXPECTED)


class BreakAutomatedProspectUpdates:
    def __init__(self) -> None:
        self.raised = 0

    async def on_event(self, _session: Any, event: EventRecord) -> None:
        if event.type == EventType.PROSPECT_UPDATED and event.by_automation:
            self.raised += 1
            raise HookFailure("prospect_updated refused")


async def test_openapi_documents_the_automation_triggered_payload(client: Client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    payload = next(schema for name, schema in schemas.items() if name.endswith("AutomationTriggeredData"))
    assert {"automation_id", "automation_name", "action", "summary", "trigger_seq", "result"} <= set(
        payload["properties"]
    )
    trigger = document["paths"]["/api/automations/{automation_id}/trigger"]["post"]
    assert {"401", "403", "404", "422"} <= set(trigger["responses"])
