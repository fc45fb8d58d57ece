"""Notifications and the activity feed, through the HTTP API on both databases."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.container import Services
from aiclone.events.log import events_after
from aiclone.events.types import EventType
from tests.support.factories import UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]


async def _notify(services: Services, user_id: uuid.UUID, title: str) -> None:
    async with services.db.session() as session:
        await services.notifications.notify(
            session, user_id=user_id, title=title, body="body", level="warning"
        )


async def test_notifications_list_count_and_mark_read(
    client: Client, users: UserFactory, services: Services
) -> None:
    alice, bob = await users.create(), await users.create()
    for i in range(3):
        await _notify(services, alice.id, f"n{i}")
    await _notify(services, bob.id, "for bob")

    count = await client.get("/api/notifications/unread-count", headers=alice.headers)
    assert count.json() == {"unread": 3}
    page = await client.get("/api/notifications", params={"limit": 2}, headers=alice.headers)
    body = page.json()
    assert [n["title"] for n in body["items"]] == ["n2", "n1"]
    assert body["next_cursor"]
    rest = await client.get(
        "/api/notifications", params={"limit": 2, "cursor": body["next_cursor"]}, headers=alice.headers
    )
    assert [n["title"] for n in rest.json()["items"]] == ["n0"]
    assert rest.json()["next_cursor"] is None

    first_id = body["items"][0]["id"]
    one = await client.post(f"/api/notifications/{first_id}/read", headers=alice.headers)
    assert one.status_code == 200
    assert one.json()["read"] is True
    # Bob cannot read (or learn about) Alice's notification.
    assert_problem(
        await client.post(f"/api/notifications/{first_id}/read", headers=bob.headers), 404, "not-found"
    )
    unread_only = await client.get("/api/notifications", params={"unread_only": True}, headers=alice.headers)
    assert len(unread_only.json()["items"]) == 2

    bob_items = (await client.get("/api/notifications", headers=bob.headers)).json()["items"]
    ids_of_bob = [n["id"] for n in bob_items]
    marked = await client.post("/api/notifications/read", json={"ids": ids_of_bob}, headers=alice.headers)
    assert marked.json() == {"marked": 0, "unread": 2}
    marked_all = await client.post("/api/notifications/read", json={"all": True}, headers=alice.headers)
    assert marked_all.json() == {"marked": 2, "unread": 0}
    assert (await client.get("/api/notifications/unread-count", headers=bob.headers)).json() == {"unread": 1}

    async with services.db.read_session() as session:
        events = await events_after(session, alice.id, 0, types=[EventType.NOTIFICATION])
    actions = [e.data["action"] for e in events]
    assert actions == ["created", "created", "created", "read", "read"]
    assert events[-1].data["unread"] == 0


async def test_notification_endpoints_require_auth_and_scope(client: Client, users: UserFactory) -> None:
    user = await users.create()
    admin = await users.create(admin=True)
    assert_problem(await client.get("/api/notifications"), 401, "unauthenticated")
    assert_problem(await client.post("/api/notifications/read", json={"all": True}), 401, "unauthenticated")
    other = await client.get("/api/notifications", params={"user_id": str(admin.id)}, headers=user.headers)
    assert_problem(other, 403, "forbidden")
    as_admin = await client.get("/api/notifications", params={"user_id": str(user.id)}, headers=admin.headers)
    assert as_admin.status_code == 200
    bad_cursor = await client.get("/api/notifications", params={"cursor": "%%%"}, headers=user.headers)
    assert_problem(bad_cursor, 422, "validation-error")
    assert (
        await client.post("/api/notifications/read", json={"bogus": 1}, headers=user.headers)
    ).status_code == 422
    missing = await client.post(f"/api/notifications/{uuid.uuid4()}/read", headers=user.headers)
    assert_problem(missing, 404, "not-found")


async def test_domain_events_become_activity_lines_with_activity_events(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    async with services.db.session() as session:
        await services.events.record(
            session,
            user_id=user.id,
            type=EventType.PROSPECT_ADDED,
            data={"id": str(uuid.uuid4()), "name": "<b>Ada</b>", "company": "Analytical"},
        )
        await services.events.record(
            session, user_id=user.id, type=EventType.TASK_UPDATE, data={"status": "running"}
        )
    feed = await client.get("/api/activities", headers=user.headers)
    items = feed.json()["items"]
    assert len(items) == 1
    assert items[0]["title"] == "Prospect added: <b>Ada</b>"
    assert items[0]["type"] == "prospect_added"
    assert items[0]["source_seq"] == 1
    async with services.db.read_session() as session:
        types = [e.type for e in await events_after(session, user.id, 0)]
    # The activity event is recorded right after the event it describes, in the same transaction.
    assert types == ["prospect_added", "activity", "task_update"]

    filtered = await client.get("/api/activities", params={"types": "outreach_sent"}, headers=user.headers)
    assert filtered.json()["items"] == []
    bad = await client.get("/api/activities", params={"types": "nope"}, headers=user.headers)
    assert bad.status_code == 422
    other = await users.create()
    assert (await client.get("/api/activities", headers=other.headers)).json()["items"] == []
    assert (await client.get("/api/activities")).status_code == 401


async def test_a_feed_line_is_written_with_its_activity_event_and_rolls_back_with_it(
    client: Client, users: UserFactory, services: Services, backend: str
) -> None:
    user = await users.create()
    statements: list[str] = []
    async with services.db.session() as session:
        if backend == "postgresql":
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            log = lambda record: statements.append(record.query)  # noqa: E731
            raw.add_query_logger(log)
        await services.events.record(
            session,
            user_id=user.id,
            type=EventType.PROSPECT_ADDED,
            data={"id": str(uuid.uuid4()), "name": "Kept"},
        )
        try:
            async with services.events.savepoint(session):
                await services.events.record(
                    session,
                    user_id=user.id,
                    type=EventType.PROSPECT_ADDED,
                    data={"id": str(uuid.uuid4()), "name": "Gone"},
                )
                raise LookupError("the savepoint rolls back")
        except LookupError:
            pass
    if backend == "postgresql":
        raw.remove_query_logger(log)
        writes = [q for q in statements if "INSERT" in q]
        # Per prospect_added (the kept one and the rolled-back one): one statement for the event,
        # one for the feed line together with its activity event.
        assert len([q for q in writes if "INSERT INTO events" in q]) == 4
        assert len([q for q in writes if "activities" in q]) == 2
        assert all("INTO events" in q for q in writes if "activities" in q)
    items = (await client.get("/api/activities", headers=user.headers)).json()["items"]
    assert [item["title"] for item in items] == ["Prospect added: Kept"]
    async with services.db.read_session() as session:
        recorded = await events_after(session, user.id, 0)
    assert [(e.seq, e.type) for e in recorded] == [(1, "prospect_added"), (2, "activity")]
    assert recorded[1].data["id"] == items[0]["id"]
    assert items[0]["source_seq"] == 1
