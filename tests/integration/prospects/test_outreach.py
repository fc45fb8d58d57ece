"""Outreach messages through the HTTP API: drafts, recorded sends, booked meetings, and their events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from aiclone.container import Services
from aiclone.outreach.models import OutreachMessage
from tests.support.eventlog import assert_internal_error, events_of, field_errors, install_failing_hook
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
# A fixed id that matches nothing (parametrized ids must be the same in every test process).
MISSING_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
API = "/api/outreach"


async def _prospect(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/prospects", json={"name": "Pat", **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _draft(client: Client, user: SignedInUser, prospect_id: str, **fields: Any) -> dict[str, Any]:
    payload = {"prospect_id": prospect_id, "subject": "Hello", "body": "Shall we talk?", **fields}
    response = await client.post(API, json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _get_prospect(client: Client, user: SignedInUser, prospect_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/prospects/{prospect_id}", headers=user.headers)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _message_count(services: Services, user_id: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        query = select(func.count()).where(OutreachMessage.user_id == user_id)
        return int(await session.scalar(query) or 0)


ENDPOINTS = [
    ("POST", API, {"prospect_id": str(MISSING_ID), "body": "x"}),
    ("GET", API, None),
    ("GET", f"{API}/{MISSING_ID}", None),
    ("PATCH", f"{API}/{MISSING_ID}", {"body": "y"}),
    ("DELETE", f"{API}/{MISSING_ID}", None),
    ("POST", f"{API}/{MISSING_ID}/send", None),
    ("POST", f"{API}/{MISSING_ID}/meeting-booked", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client: Client, method: str, path: str, body: Any) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_non_admin_naming_another_user_is_403(
    client: Client, users: UserFactory, method: str, path: str, body: Any
) -> None:
    user, other = await users.create(), await users.create()
    response = await client.request(
        method, path, json=body, params={"user_id": str(other.id)}, headers=user.headers
    )
    assert_problem(response, 403, "forbidden")


async def test_draft_bumps_the_prospect_and_emits_prospect_updated(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"], channel="linkedin", subject="  ")
    assert (message["status"], message["channel"], message["subject"]) == ("draft", "linkedin", None)
    assert (message["sent_at"], message["meeting_booked"]) == (None, False)
    assert message["prospect_id"] == prospect["id"]
    assert (await client.get(f"{API}/{message['id']}", headers=user.headers)).json() == message
    after = await _get_prospect(client, user, prospect["id"])
    assert after["drafts_generated"] == 1
    events = await events_of(services, user.id)
    assert [(e.type) for e in events] == ["prospect_added", "prospect_updated", "outreach_updated"]
    assert events[2].data == {**message, "action": "created", "changes": []}
    assert events[1].data == {
        **after,
        "changes": ["drafts_generated"],
        "reason": "draft_created",
        "outreach_id": message["id"],
    }


async def test_another_users_prospect_or_message_is_404(
    client: Client, users: UserFactory, services: Services
) -> None:
    owner, other = await users.create(), await users.create()
    prospect = await _prospect(client, owner)
    message = await _draft(client, owner, prospect["id"])
    for prospect_id in (prospect["id"], str(uuid.uuid4())):
        response = await client.post(
            API, json={"prospect_id": prospect_id, "body": "hi"}, headers=other.headers
        )
        assert_problem(response, 404, "not-found")
    path = f"{API}/{message['id']}"
    assert_problem(await client.get(path, headers=other.headers), 404, "not-found")
    assert_problem(
        await client.patch(path, json={"body": "mine now"}, headers=other.headers), 404, "not-found"
    )
    assert_problem(await client.delete(path, headers=other.headers), 404, "not-found")
    assert_problem(await client.post(f"{path}/send", headers=other.headers), 404, "not-found")
    assert_problem(await client.post(f"{path}/meeting-booked", headers=other.headers), 404, "not-found")
    listed = await client.get(API, params={"prospect_id": prospect["id"]}, headers=other.headers)
    assert listed.json()["items"] == []
    # Nothing moved for the owner; the other user has no messages and no events.
    assert (await client.get(path, headers=owner.headers)).json() == message
    assert (await _get_prospect(client, owner, prospect["id"]))["drafts_generated"] == 1
    assert len(await events_of(services, owner.id)) == 3
    assert await events_of(services, other.id) == []
    assert await _message_count(services, other.id) == 0


OWN = "own-prospect"  # replaced by the id of the user's own prospect


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "x"}, "prospect_id"),
        ({"prospect_id": "nope", "body": "x"}, "prospect_id"),
        ({"prospect_id": OWN, "body": "x", "extra": 1}, "extra"),
        ({"prospect_id": OWN, "channel": "fax", "body": "x"}, "channel"),
        ({"prospect_id": OWN}, "body"),
        ({"prospect_id": OWN, "body": ""}, "body"),
        ({"prospect_id": OWN, "body": "   "}, "body"),
        ({"prospect_id": OWN, "body": "x" * 20_001}, "body"),
        ({"prospect_id": OWN, "body": "x", "subject": "s" * 301}, "subject"),
    ],
)
async def test_invalid_draft_is_422(
    client: Client, users: UserFactory, services: Services, payload: dict[str, Any], field: str
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    body = {k: prospect["id"] if v == OWN else v for k, v in payload.items()}
    response = await client.post(API, json=body, headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert field in field_errors(response), response.text
    assert await _message_count(services, user.id) == 0
    assert (await _get_prospect(client, user, prospect["id"]))["drafts_generated"] == 0


async def test_edit_and_delete_drafts_only(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    path = f"{API}/{message['id']}"
    edited = await client.patch(path, json={"subject": None, "channel": "other"}, headers=user.headers)
    assert edited.status_code == 200
    assert (edited.json()["subject"], edited.json()["channel"], edited.json()["body"]) == (
        None,
        "other",
        message["body"],
    )
    bad = await client.patch(path, json={"status": "sent"}, headers=user.headers)
    assert bad.status_code == 422
    assert "status" in field_errors(bad)
    assert (await client.post(f"{path}/send", headers=user.headers)).status_code == 200
    assert (await client.patch(path, json={"body": "rewritten"}, headers=user.headers)).status_code == 409
    assert (await client.delete(path, headers=user.headers)).status_code == 409
    other = await _draft(client, user, prospect["id"])
    assert (await client.delete(f"{API}/{other['id']}", headers=user.headers)).status_code == 204
    assert (await client.get(f"{API}/{other['id']}", headers=user.headers)).status_code == 404
    # Every change of a draft emitted outreach_updated; refused changes emitted nothing.
    assert [
        (e.type, e.data.get("action") if e.type == "outreach_updated" else None)
        for e in await events_of(services, user.id)
    ] == [
        ("prospect_added", None),
        ("prospect_updated", None),
        ("outreach_updated", "created"),
        ("outreach_updated", "updated"),
        ("outreach_sent", None),
        ("prospect_updated", None),
        ("outreach_updated", "created"),
        ("outreach_updated", "deleted"),
    ]


async def test_send_records_it_bumps_counters_and_emits_outreach_sent(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    response = await client.post(f"{API}/{message['id']}/send", headers=user.headers)
    assert response.status_code == 200
    sent = response.json()
    assert sent["status"] == "sent"
    assert sent["sent_at"] is not None
    after = await _get_prospect(client, user, prospect["id"])
    assert (after["emails_sent"], after["last_contacted"]) == (1, sent["sent_at"])
    event = (await events_of(services, user.id))[-1]
    assert (event.type) == ("outreach_sent")
    assert event.data == {**sent, "prospect": after}
    again = await client.post(f"{API}/{message['id']}/send", headers=user.headers)
    assert again.status_code == 409
    assert len(await events_of(services, user.id)) == 4
    assert (await _get_prospect(client, user, prospect["id"]))["emails_sent"] == 1


async def test_concurrent_sends_of_one_message_record_one(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    responses = await asyncio.gather(
        *(client.post(f"{API}/{message['id']}/send", headers=user.headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    assert (await _get_prospect(client, user, prospect["id"]))["emails_sent"] == 1
    assert [e.type for e in await events_of(services, user.id)].count("outreach_sent") == 1


async def test_an_email_needs_a_subject_to_be_sent(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    email = await _draft(client, user, prospect["id"], subject=None)
    response = await client.post(f"{API}/{email['id']}/send", headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert "subject" in field_errors(response)
    assert (await client.get(f"{API}/{email['id']}", headers=user.headers)).json()["status"] == "draft"
    note = await _draft(client, user, prospect["id"], subject=None, channel="linkedin")
    assert (await client.post(f"{API}/{note['id']}/send", headers=user.headers)).status_code == 200


async def test_meeting_booked_from_a_sent_message(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    path = f"{API}/{message['id']}"
    assert (await client.post(f"{path}/meeting-booked", headers=user.headers)).status_code == 409  # a draft
    await client.post(f"{path}/send", headers=user.headers)
    response = await client.post(f"{path}/meeting-booked", headers=user.headers)
    assert response.status_code == 200
    booked = response.json()
    assert booked["meeting_booked"] is True
    assert booked["meeting_booked_at"] is not None
    after = await _get_prospect(client, user, prospect["id"])
    assert after["meetings_booked"] == 1
    event = (await events_of(services, user.id))[-1]
    assert (event.type) == ("prospect_updated")
    assert event.data == {
        **after,
        "changes": ["meetings_booked"],
        "reason": "meeting_booked",
        "outreach_id": message["id"],
    }
    assert (await client.post(f"{path}/meeting-booked", headers=user.headers)).status_code == 409
    assert len(await events_of(services, user.id)) == 5


async def test_list_filters_and_pages(client: Client, users: UserFactory) -> None:
    user, other = await users.create(), await users.create()
    first, second = await _prospect(client, user, name="A"), await _prospect(client, user, name="B")
    made = [await _draft(client, user, (first if i % 2 else second)["id"], body=f"m{i}") for i in range(7)]
    await _draft(client, other, (await _prospect(client, other))["id"])
    for message in made[:3]:
        await client.post(f"{API}/{message['id']}/send", headers=user.headers)

    async def walk(limit: int, **params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = await client.get(API, params=query, headers=user.headers)
            assert response.status_code == 200, response.text
            seen += [m["body"] for m in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen

    newest_first = [m["body"] for m in reversed(made)]
    assert await walk(2) == newest_first
    assert await walk(3, order="asc") == newest_first[::-1]
    assert await walk(2, prospect_id=first["id"]) == ["m5", "m3", "m1"]
    assert await walk(2, status="sent") == ["m2", "m1", "m0"]
    assert await walk(50, status="draft", prospect_id=second["id"]) == ["m6", "m4"]
    for params in ({"status": "queued"}, {"prospect_id": "x"}, {"limit": 0}, {"cursor": "%%%"}):
        assert (await client.get(API, params=params, headers=user.headers)).status_code == 422, params
    page = (await client.get(API, params={"limit": 1}, headers=user.headers)).json()
    foreign = await client.get(
        API, params={"limit": 1, "order": "asc", "cursor": page["next_cursor"]}, headers=user.headers
    )
    assert_problem(foreign, 422, "validation-error")


async def test_admin_scope(client: Client, users: UserFactory, services: Services) -> None:
    user, admin = await users.create(), await users.create(admin=True)
    prospect = await _prospect(client, user)
    scope = {"user_id": str(user.id)}
    created = await client.post(
        API,
        json={"prospect_id": prospect["id"], "subject": "s", "body": "b"},
        params=scope,
        headers=admin.headers,
    )
    assert created.status_code == 201
    message = created.json()
    assert message["user_id"] == str(user.id)
    # Without user_id the admin's own scope applies: the user's prospect is not theirs.
    own = await client.post(API, json={"prospect_id": prospect["id"], "body": "b"}, headers=admin.headers)
    assert own.status_code == 404
    assert (await client.get(f"{API}/{message['id']}", headers=admin.headers)).status_code == 404
    listed = await client.get(API, params=scope, headers=admin.headers)
    assert [m["id"] for m in listed.json()["items"]] == [message["id"]]
    sent = await client.post(f"{API}/{message['id']}/send", params=scope, headers=admin.headers)
    assert sent.status_code == 200
    assert [e.type for e in await events_of(services, user.id)][-1] == "outreach_sent"
    assert await events_of(services, admin.id) == []


async def test_deleting_a_prospect_deletes_its_messages(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    assert (await client.delete(f"/api/prospects/{prospect['id']}", headers=user.headers)).status_code == 204
    assert_problem(await client.get(f"{API}/{message['id']}", headers=user.headers), 404, "not-found")
    assert await _message_count(services, user.id) == 0


async def test_failures_after_the_change_roll_back_change_and_event(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _prospect(client, user)
    message = await _draft(client, user, prospect["id"])
    path = f"{API}/{message['id']}"
    before = len(await events_of(services, user.id))
    hook = install_failing_hook(app)

    hook.arm("prospect_updated")
    assert_internal_error(
        await client.post(API, json={"prospect_id": prospect["id"], "body": "x"}, headers=user.headers)
    )
    assert await _message_count(services, user.id) == 1
    assert (await _get_prospect(client, user, prospect["id"]))["drafts_generated"] == 1

    hook.arm("outreach_sent")
    assert_internal_error(await client.post(f"{path}/send", headers=user.headers))
    assert (await client.get(path, headers=user.headers)).json() == message
    assert (await _get_prospect(client, user, prospect["id"]))["emails_sent"] == 0
    assert len(await events_of(services, user.id)) == before

    hook.arm()
    sent = (await client.post(f"{path}/send", headers=user.headers)).json()
    hook.arm("prospect_updated")
    assert_internal_error(await client.post(f"{path}/meeting-booked", headers=user.headers))
    assert (await client.get(path, headers=user.headers)).json() == sent
    assert (await _get_prospect(client, user, prospect["id"]))["meetings_booked"] == 0
    events = await events_of(services, user.id)
    assert [(e.type) for e in events[before:]] == [("outreach_sent")]

    hook.arm("outreach_updated")
    draft = await client.post(API, json={"prospect_id": prospect["id"], "body": "x"}, headers=user.headers)
    assert_internal_error(draft)
    assert await _message_count(services, user.id) == 1
    hook.arm()
    other = await _draft(client, user, prospect["id"])
    hook.arm("outreach_updated")
    assert_internal_error(
        await client.patch(f"{API}/{other['id']}", json={"body": "y"}, headers=user.headers)
    )
    assert_internal_error(await client.delete(f"{API}/{other['id']}", headers=user.headers))
    assert (await client.get(f"{API}/{other['id']}", headers=user.headers)).json() == other
