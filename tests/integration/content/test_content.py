"""Content drafts and publishing through the HTTP API, with the ``content_published`` event."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from aiclone.container import Services
from aiclone.content.models import ContentItem
from tests.support.eventlog import assert_internal_error, events_of, field_errors, install_failing_hook
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
# A fixed id that matches nothing (parametrized ids must be the same in every test process).
MISSING_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
API = "/api/content"


async def _create(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    payload = {"title": "Why keyset pagination", "body": "Because offsets drift.", **fields}
    response = await client.post(API, json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _count(services: Services, user_id: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        return int(await session.scalar(select(func.count()).where(ContentItem.user_id == user_id)) or 0)


ENDPOINTS = [
    ("POST", API, {"title": "x"}),
    ("GET", API, None),
    ("GET", f"{API}/{MISSING_ID}", None),
    ("PATCH", f"{API}/{MISSING_ID}", {"title": "y"}),
    ("DELETE", f"{API}/{MISSING_ID}", None),
    ("POST", f"{API}/{MISSING_ID}/publish", None),
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


async def test_create_get_edit_delete(client: Client, users: UserFactory, services: Services) -> None:
    user = await users.create()
    item = await _create(
        client, user, title="  Launch notes ", channel="blog", tags=["Launch", " launch", "q3"]
    )
    assert (item["title"], item["channel"], item["tags"], item["status"]) == (
        "Launch notes",
        "blog",
        ["launch", "q3"],
        "draft",
    )
    assert item["published_at"] is None
    path = f"{API}/{item['id']}"
    assert (await client.get(path, headers=user.headers)).json() == item
    edited = await client.patch(path, json={"body": "New body", "tags": []}, headers=user.headers)
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["tags"], edited.json()["title"]) == (
        "New body",
        [],
        "Launch notes",
    )
    # An edit that changes nothing writes nothing.
    same = await client.patch(path, json={"body": "New body"}, headers=user.headers)
    assert same.json() == edited.json()
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 404
    # Each change of the library emitted content_updated, once.
    events = await events_of(services, user.id)
    assert [(e.type, e.data["action"], e.data["changes"]) for e in events] == [
        ("content_updated", "created", []),
        ("content_updated", "updated", ["body", "tags"]),
        ("content_updated", "deleted", []),
    ]
    assert {k: v for k, v in events[0].data.items() if k not in ("action", "changes")} == item
    assert events[1].data["body"] == "New body"
    assert events[2].data["id"] == item["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "x"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 301}, "title"),
        ({"title": "t", "body": "b" * 50_001}, "body"),
        ({"title": "t", "channel": "myspace"}, "channel"),
        ({"title": "t", "tags": ["x"] * 21}, "tags"),
        ({"title": "t", "tags": ["y" * 51]}, "tags[0]"),
        ({"title": "t", "status": "published"}, "status"),
        ({"title": "t", "published_at": "2020-01-01T00:00:00Z"}, "published_at"),
    ],
)
async def test_invalid_input_is_422(
    client: Client, users: UserFactory, services: Services, payload: dict[str, Any], field: str
) -> None:
    user = await users.create()
    response = await client.post(API, json=payload, headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert field in field_errors(response), response.text
    assert await _count(services, user.id) == 0


async def test_another_users_content_is_404(client: Client, users: UserFactory, services: Services) -> None:
    owner, other = await users.create(), await users.create()
    item = await _create(client, owner)
    path = f"{API}/{item['id']}"
    assert_problem(await client.get(path, headers=other.headers), 404, "not-found")
    assert_problem(await client.patch(path, json={"title": "mine"}, headers=other.headers), 404, "not-found")
    assert_problem(await client.delete(path, headers=other.headers), 404, "not-found")
    assert_problem(await client.post(f"{path}/publish", headers=other.headers), 404, "not-found")
    assert (await client.get(API, headers=other.headers)).json()["items"] == []
    assert (await client.get(path, headers=owner.headers)).json() == item
    assert [e.data["action"] for e in await events_of(services, owner.id)] == ["created"]
    assert await events_of(services, other.id) == []


async def test_publish_emits_content_published_once(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    item = await _create(client, user)
    path = f"{API}/{item['id']}"
    response = await client.post(f"{path}/publish", headers=user.headers)
    assert response.status_code == 200
    published = response.json()
    assert published["status"] == "published"
    assert published["published_at"] is not None
    (_, event) = await events_of(services, user.id)
    assert (event.type, event.data) == ("content_published", published)
    again = await client.post(f"{path}/publish", headers=user.headers)
    assert again.status_code == 409
    assert (await client.patch(path, json={"title": "retitled"}, headers=user.headers)).status_code == 409
    assert len(await events_of(services, user.id)) == 2
    # Published content can still be removed from the library.
    assert (await client.delete(path, headers=user.headers)).status_code == 204


async def test_empty_draft_cannot_be_published(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    item = await _create(client, user, body="   ")
    response = await client.post(f"{API}/{item['id']}/publish", headers=user.headers)
    assert response.status_code == 422
    assert "body" in field_errors(response)
    assert (await client.get(f"{API}/{item['id']}", headers=user.headers)).json()["status"] == "draft"
    assert [e.type for e in await events_of(services, user.id)] == ["content_updated"]


async def test_list_filters_and_pages(client: Client, users: UserFactory) -> None:
    user, other = await users.create(), await users.create()
    made = [
        await _create(
            client,
            user,
            title=f"c{i}",
            channel="linkedin" if i % 2 else "blog",
            tags=["ai"] if i % 3 == 0 else [],
        )
        for i in range(8)
    ]
    await _create(client, other, tags=["ai"])
    for item in made[:3]:
        await client.post(f"{API}/{item['id']}/publish", headers=user.headers)

    async def walk(limit: int, **params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = await client.get(API, params=query, headers=user.headers)
            assert response.status_code == 200, response.text
            seen += [c["title"] for c in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen

    titles = [f"c{i}" for i in range(8)]
    assert await walk(3) == titles[::-1]
    assert await walk(3, order="asc") == titles
    assert await walk(2, status="published") == ["c2", "c1", "c0"]
    assert await walk(2, channel="linkedin") == ["c7", "c5", "c3", "c1"]
    assert await walk(1, tag="AI") == ["c6", "c3", "c0"]
    assert await walk(5, tag="ai", status="draft", channel="blog") == ["c6"]
    for params in ({"status": "archived"}, {"channel": "fax"}, {"limit": 201}, {"cursor": "bm90LWpzb24"}):
        response = await client.get(API, params=params, headers=user.headers)
        assert_problem(response, 422, "validation-error", note=params)


async def test_admin_scope(client: Client, users: UserFactory, services: Services) -> None:
    user, admin = await users.create(), await users.create(admin=True)
    scope = {"user_id": str(user.id)}
    created = await client.post(API, json={"title": "t", "body": "b"}, params=scope, headers=admin.headers)
    assert created.status_code == 201
    item = created.json()
    assert item["user_id"] == str(user.id)
    assert (await client.get(f"{API}/{item['id']}", headers=admin.headers)).status_code == 404
    assert [
        c["id"] for c in (await client.get(API, params=scope, headers=admin.headers)).json()["items"]
    ] == [item["id"]]
    published = await client.post(f"{API}/{item['id']}/publish", params=scope, headers=admin.headers)
    assert published.status_code == 200
    assert [e.type for e in await events_of(services, user.id)] == ["content_updated", "content_published"]
    assert await events_of(services, admin.id) == []
    missing = await client.post(
        API, json={"title": "t"}, params={"user_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert missing.status_code == 404


async def test_failed_publish_leaves_a_draft_and_no_event(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    item = await _create(client, user)
    hook = install_failing_hook(app)
    hook.arm("content_published")
    assert_internal_error(await client.post(f"{API}/{item['id']}/publish", headers=user.headers))
    assert (await client.get(f"{API}/{item['id']}", headers=user.headers)).json() == item
    assert [e.type for e in await events_of(services, user.id)] == ["content_updated"]
    hook.arm()
    assert (await client.post(f"{API}/{item['id']}/publish", headers=user.headers)).status_code == 200
    assert [e.type for e in await events_of(services, user.id)] == ["content_updated", "content_published"]


async def test_failed_library_changes_leave_no_change_and_no_event(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    hook = install_failing_hook(app)
    hook.arm("content_updated")
    assert_internal_error(await client.post(API, json={"title": "never"}, headers=user.headers))
    assert await _count(services, user.id) == 0
    assert await events_of(services, user.id) == []
    hook.arm()
    item = await _create(client, user)
    path = f"{API}/{item['id']}"
    hook.arm("content_updated")
    assert_internal_error(await client.patch(path, json={"title": "changed"}, headers=user.headers))
    assert_internal_error(await client.delete(path, headers=user.headers))
    assert (await client.get(path, headers=user.headers)).json() == item
    assert [e.data["action"] for e in await events_of(services, user.id)] == ["created"]
