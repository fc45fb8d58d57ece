"""Prospects through the HTTP API, on SQLite and PostgreSQL, with their events read back after commit."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aiclone.container import Services
from aiclone.prospects.models import Prospect
from aiclone.prospects.repository import ProspectRepository
from aiclone.prospects.schemas import MAX_BULK_ITEMS
from tests.support.eventlog import assert_internal_error, events_of, field_errors, install_failing_hook
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
# A fixed id that matches nothing (parametrized ids must be the same in every test process).
MISSING_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
API = "/api/prospects"


async def _create(client: Client, user: SignedInUser, **fields: Any) -> dict[str, Any]:
    payload = {"name": "Ada Lovelace", **fields}
    response = await client.post(API, json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _bulk(client: Client, user: SignedInUser, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await client.post(f"{API}/bulk", json={"items": items}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def _count(services: Services, user_id: uuid.UUID) -> int:
    async with services.db.read_session() as session:
        return int(await session.scalar(select(func.count()).where(Prospect.user_id == user_id)) or 0)


async def _walk(client: Client, user: SignedInUser, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, following next_cursor."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(API, params=query, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


# --- authentication and ownership -------------------------------------------------------------

ENDPOINTS = [
    ("POST", API, {"name": "x"}),
    ("POST", f"{API}/bulk", {"items": [{"name": "x"}]}),
    ("POST", f"{API}/bulk-status", {"ids": [str(MISSING_ID)], "status": "approved"}),
    ("GET", API, None),
    ("GET", f"{API}/{MISSING_ID}", None),
    ("PATCH", f"{API}/{MISSING_ID}", {"name": "y"}),
    ("DELETE", f"{API}/{MISSING_ID}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client: Client, method: str, path: str, body: Any) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_another_users_prospect_is_404_everywhere(
    client: Client, users: UserFactory, services: Services
) -> None:
    owner, other = await users.create(), await users.create()
    prospect = await _create(client, owner, email="owned@example.com")
    path = f"{API}/{prospect['id']}"
    assert (await client.get(path, headers=other.headers)).status_code == 404
    assert (await client.patch(path, json={"name": "Stolen"}, headers=other.headers)).status_code == 404
    assert (await client.delete(path, headers=other.headers)).status_code == 404
    listing = await client.get(API, headers=other.headers)
    assert listing.json()["items"] == []
    # Untouched, and the only event is the owner's prospect_added.
    assert (await client.get(path, headers=owner.headers)).json() == prospect
    assert [e.type for e in await events_of(services, owner.id)] == ["prospect_added"]
    assert await events_of(services, other.id) == []
    # The same email under another user is a different prospect, not a duplicate.
    await _create(client, other, email="OWNED@example.com")


async def test_admin_acts_on_another_users_prospects_with_user_id(
    client: Client, users: UserFactory, services: Services
) -> None:
    user, admin = await users.create(), await users.create(admin=True)
    scope = {"user_id": str(user.id)}
    created = await client.post(API, json={"name": "By admin"}, params=scope, headers=admin.headers)
    assert created.status_code == 201
    assert created.json()["user_id"] == str(user.id)
    pid = created.json()["id"]
    # Without user_id the admin sees their own (empty) data, not everyone's.
    assert (await client.get(API, headers=admin.headers)).json()["items"] == []
    assert (await client.get(f"{API}/{pid}", headers=admin.headers)).status_code == 404
    listed = await client.get(API, params=scope, headers=admin.headers)
    assert [p["id"] for p in listed.json()["items"]] == [pid]
    patched = await client.patch(f"{API}/{pid}", json={"notes": "n"}, params=scope, headers=admin.headers)
    assert patched.status_code == 200
    bulk = await client.post(
        f"{API}/bulk-status", json={"ids": [pid], "status": "approved"}, params=scope, headers=admin.headers
    )
    assert [p["id"] for p in bulk.json()["updated"]] == [pid]
    assert (await client.delete(f"{API}/{pid}", params=scope, headers=admin.headers)).status_code == 204
    # The events belong to the user whose data changed.
    assert [e.type for e in await events_of(services, user.id)] == [
        "prospect_added",
        "prospect_updated",
        "prospect_updated",
        "prospect_updated",
    ]
    assert await events_of(services, admin.id) == []
    missing = await client.post(
        API, json={"name": "x"}, params={"user_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [e for e in ENDPOINTS if e[1] != f"{API}/bulk-status"] + [("POST", f"{API}/bulk-status", None)],
)
async def test_non_admin_naming_another_user_is_403(
    client: Client, users: UserFactory, method: str, path: str, body: Any
) -> None:
    user, other = await users.create(), await users.create()
    if path.endswith("bulk-status"):
        body = {"ids": [str(uuid.uuid4())], "status": "approved"}
    response = await client.request(
        method, path, json=body, params={"user_id": str(other.id)}, headers=user.headers
    )
    assert_problem(response, 403, "forbidden")
    # Naming oneself is harmless.
    if method == "GET" and path == API:
        own = await client.get(API, params={"user_id": str(user.id)}, headers=user.headers)
        assert own.status_code == 200


# --- create ------------------------------------------------------------------------------------


async def test_create_normalizes_and_emits_prospect_added(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    body = await _create(
        client,
        user,
        name="  Grace Hopper ",
        email="Grace.Hopper@EXAMPLE.com",
        phone="+1 (555) 010-2030 x12",
        company="  ",
        website="https://navy.example/grace",
        linkedin="https://www.linkedin.com/in/grace",
        tags=[" Navy", "navy", "COBOL"],
        fit_score=88,
        signal_strength=40,
        approval_status="approved",
    )
    assert body["name"] == "Grace Hopper"
    assert body["email"] == "Grace.Hopper@example.com"  # domain lower-cased, local part kept
    assert body["company"] is None  # blank means absent
    assert body["tags"] == ["navy", "cobol"]
    assert body["approval_status"] == "approved"
    assert (body["drafts_generated"], body["emails_sent"], body["meetings_booked"]) == (0, 0, 0)
    assert body["last_contacted"] is None
    assert body["user_id"] == str(user.id)
    uuid.UUID(body["id"])
    (event,) = await events_of(services, user.id)
    assert (event.type) == ("prospect_added")
    assert event.data == body
    fetched = await client.get(f"{API}/{body['id']}", headers=user.headers)
    assert fetched.json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "role": "admin"}, "role"),
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "x", "email": "not-an-email"}, "email"),
        ({"name": "x", "email": "a@" + "b" * 260 + ".com"}, "email"),
        ({"name": "x", "website": "ftp://example.com"}, "website"),
        ({"name": "x", "website": "https://user:pw@example.com"}, "website"),
        ({"name": "x", "website": "https://" + "a" * 2050 + ".com"}, "website"),
        ({"name": "x", "linkedin": "https://example.com/in/me"}, "linkedin"),
        ({"name": "x", "phone": "call me maybe"}, "phone"),
        ({"name": "x", "fit_score": 101}, "fit_score"),
        ({"name": "x", "signal_strength": -1}, "signal_strength"),
        ({"name": "x", "approval_status": "maybe"}, "approval_status"),
        ({"name": "x", "tags": ["t"] * 21}, "tags"),
        ({"name": "x", "tags": ["t" * 51]}, "tags[0]"),
        ({"name": "x", "tags": ["ok", "a,b"]}, "tags[1]"),
        ({"name": "x", "tags": ["  "]}, "tags"),
        ({"name": "x", "notes": "n" * 10_001}, "notes"),
        ({"name": "x", "scoring_reasoning": "r" * 5001}, "scoring_reasoning"),
    ],
)
async def test_invalid_input_is_422_naming_the_field(
    client: Client, users: UserFactory, services: Services, payload: dict[str, Any], field: str
) -> None:
    user = await users.create()
    response = await client.post(API, json=payload, headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert field in field_errors(response), response.text
    assert await _count(services, user.id) == 0
    assert await events_of(services, user.id) == []


async def test_bulk_create_is_all_or_nothing_with_item_paths(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    items: list[dict[str, Any]] = [{"name": f"P{i}", "email": f"p{i}@example.com"} for i in range(5)]
    items[1]["email"] = "broken"
    items[3]["website"] = "javascript:alert(1)"
    response = await client.post(f"{API}/bulk", json={"items": items}, headers=user.headers)
    assert response.status_code == 422
    assert set(field_errors(response)) == {"items[1].email", "items[3].website"}
    # Schema errors name the item too.
    items = [{"name": "ok"}, {"name": "ok", "fit_score": "high"}]
    response = await client.post(f"{API}/bulk", json={"items": items}, headers=user.headers)
    assert response.status_code == 422
    assert "items[1].fit_score" in field_errors(response)
    assert await _count(services, user.id) == 0
    assert await events_of(services, user.id) == []

    created = await _bulk(client, user, [{"name": f"P{i}", "tags": ["b"]} for i in range(3)])
    assert [p["name"] for p in created] == ["P0", "P1", "P2"]
    events = await events_of(services, user.id)
    assert [(e.type) for e in events] == [
        ("prospect_added"),
        ("prospect_added"),
        ("prospect_added"),
    ]
    assert [e.data for e in events] == created


async def test_bulk_create_is_bounded(client: Client, users: UserFactory) -> None:
    user = await users.create()
    too_many = {"items": [{"name": "x"}] * (MAX_BULK_ITEMS + 1)}
    response = await client.post(f"{API}/bulk", json=too_many, headers=user.headers)
    assert_problem(response, 422, "validation-error")
    assert "items" in field_errors(response)
    empty = await client.post(f"{API}/bulk", json={"items": []}, headers=user.headers)
    assert_problem(empty, 422, "validation-error")


# --- duplicates --------------------------------------------------------------------------------


async def test_duplicate_email_is_409_whatever_the_case(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    first = await _create(client, user, email="dup@example.com")
    again = await client.post(API, json={"name": "B", "email": "DUP@Example.COM"}, headers=user.headers)
    assert_problem(again, 409, "conflict")
    assert "email" in field_errors(again)
    # Bulk: against a stored prospect, and within the batch; nothing of the batch is kept.
    stored = await client.post(
        f"{API}/bulk",
        json={
            "items": [{"name": "ok", "email": "new@example.com"}, {"name": "x", "email": "Dup@example.com"}]
        },
        headers=user.headers,
    )
    assert_problem(stored, 409, "conflict")
    assert set(field_errors(stored)) == {"items[1].email"}
    within = await client.post(
        f"{API}/bulk",
        json={
            "items": [{"name": "a", "email": "twin@example.com"}, {"name": "b", "email": "TWIN@example.com"}]
        },
        headers=user.headers,
    )
    assert_problem(within, 409, "conflict")
    assert field_errors(within) == {"items[1].email": "same email as items[0]"}
    # PATCH onto another prospect's email.
    second = await _create(client, user, email="second@example.com")
    clash = await client.patch(
        f"{API}/{second['id']}", json={"email": "dUp@example.com"}, headers=user.headers
    )
    assert_problem(clash, 409, "conflict")
    # Changing the case of one's own email is not a clash.
    recased = await client.patch(
        f"{API}/{first['id']}", json={"email": "Dup@example.com"}, headers=user.headers
    )
    assert recased.status_code == 200
    assert await _count(services, user.id) == 2
    # Prospects without an email never clash.
    await _create(client, user)
    await _create(client, user)


async def test_the_unique_index_settles_races(
    client: Client, users: UserFactory, services: Services, backend: str
) -> None:
    user = await users.create()
    responses = await asyncio.gather(
        *(
            client.post(API, json={"name": f"R{i}", "email": "race@example.com"}, headers=user.headers)
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert [e.type for e in await events_of(services, user.id)] == ["prospect_added"]
    # The index itself (not only the service's check) refuses a second row.
    now = dt.datetime.now(dt.UTC)
    row = {"user_id": user.id, "name": "n", "email": "x@example.com", "email_normalized": "race@example.com"}
    with pytest.raises(IntegrityError):
        async with services.db.session() as session:
            await ProspectRepository(session).insert(
                [{**row, "id": uuid.uuid4(), "created_at": now, "updated_at": now, "tags": []}]
            )


# --- get, patch, delete, bulk status -----------------------------------------------------------


async def test_patch_changes_only_given_fields_and_reports_them(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _create(client, user, company="Analytical Engines", notes="met at a talk", fit_score=10)
    path = f"{API}/{prospect['id']}"
    response = await client.patch(
        path, json={"fit_score": 70, "notes": None, "tags": ["Hot"]}, headers=user.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["fit_score"], body["notes"], body["tags"]) == (70, None, ["hot"])
    assert body["company"] == "Analytical Engines"
    assert body["created_at"] == prospect["created_at"]
    assert body["updated_at"] > prospect["updated_at"]
    events = await events_of(services, user.id)
    assert [(e.type) for e in events] == [("prospect_added"), ("prospect_updated")]
    assert events[1].data == {
        **body,
        "changes": ["fit_score", "tags", "notes"],
        "reason": "edited",
        "outreach_id": None,
    }
    # Sending the current values changes nothing and emits nothing.
    same = await client.patch(
        path, json={"fit_score": 70, "company": "Analytical Engines"}, headers=user.headers
    )
    assert same.json() == body
    assert len(await events_of(services, user.id)) == 2
    # Approving through PATCH carries the reason too.
    approved = await client.patch(path, json={"approval_status": "approved"}, headers=user.headers)
    assert approved.json()["approval_status"] == "approved"
    last = (await events_of(services, user.id))[2]
    assert (last.data["reason"], last.data["changes"]) == ("approved", ["approval_status"])
    # Validation on PATCH: unknown field, null for a required field, bad URL.
    for bad, field in (
        ({"nope": 1}, "nope"),
        ({"name": None}, "name"),
        ({"website": "example.com"}, "website"),
    ):
        response = await client.patch(path, json=bad, headers=user.headers)
        assert response.status_code == 422, response.text
        assert field in field_errors(response)
    assert (
        await client.patch(f"{API}/{uuid.uuid4()}", json={"name": "x"}, headers=user.headers)
    ).status_code == 404


async def test_delete_emits_the_prospect_as_it_was(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _create(client, user, email="gone@example.com")
    path = f"{API}/{prospect['id']}"
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 404
    event = (await events_of(services, user.id))[-1]
    assert (event.type) == ("prospect_updated")
    assert event.data == {**prospect, "changes": [], "reason": "deleted", "outreach_id": None}
    # The email is free again.
    await _create(client, user, email="gone@example.com")


async def test_bulk_status_reports_not_found_and_unchanged(
    client: Client, users: UserFactory, services: Services
) -> None:
    user, other = await users.create(), await users.create()
    mine = await _bulk(client, user, [{"name": f"M{i}"} for i in range(3)])
    theirs = await _create(client, other)
    await client.patch(f"{API}/{mine[2]['id']}", json={"approval_status": "rejected"}, headers=user.headers)
    before = len(await events_of(services, user.id))
    missing = str(uuid.uuid4())
    ids = [mine[0]["id"], theirs["id"], mine[1]["id"], missing, mine[0]["id"], mine[2]["id"]]
    response = await client.post(
        f"{API}/bulk-status", json={"ids": ids, "status": "rejected"}, headers=user.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["updated"]] == [mine[0]["id"], mine[1]["id"]]
    assert all(p["approval_status"] == "rejected" for p in body["updated"])
    assert body["unchanged"] == [mine[2]["id"]]
    assert body["not_found"] == [theirs["id"], missing]
    events = (await events_of(services, user.id))[before:]
    assert [(e.data["id"], e.data["reason"], e.data["changes"]) for e in events] == [
        (mine[0]["id"], "rejected", ["approval_status"]),
        (mine[1]["id"], "rejected", ["approval_status"]),
    ]
    assert events[0].data == {
        **body["updated"][0],
        "changes": ["approval_status"],
        "reason": "rejected",
        "outreach_id": None,
    }
    # The other user's prospect did not move and they got no event.
    assert (await client.get(f"{API}/{theirs['id']}", headers=other.headers)).json()[
        "approval_status"
    ] == "pending"
    assert [e.type for e in await events_of(services, other.id)] == ["prospect_added"]
    for bad in (
        {"ids": [], "status": "approved"},
        {"ids": [missing], "status": "pending"},
        {"ids": ["x"], "status": "approved"},
    ):
        assert (await client.post(f"{API}/bulk-status", json=bad, headers=user.headers)).status_code == 422


# --- listing -----------------------------------------------------------------------------------


async def test_filters(client: Client, users: UserFactory) -> None:
    user, other = await users.create(), await users.create()
    await _bulk(
        client,
        user,
        [
            {
                "name": "Alice Smith",
                "company": "Acme",
                "email": "alice@acme.io",
                "fit_score": 90,
                "tags": ["vip", "eu"],
            },
            {
                "name": "Bob Stone",
                "company": "Globex",
                "email": "bob@globex.io",
                "fit_score": 40,
                "tags": ["eu"],
            },
            {"name": "Carol", "company": "ACME Labs", "fit_score": 60, "approval_status": "approved"},
            {"name": "Dan 100%_off", "company": "Initech", "email": "dan@smith.example", "fit_score": 75},
        ],
    )
    await _create(client, other, name="Alice Other", company="Acme", tags=["vip"], fit_score=99)

    async def names(**params: Any) -> list[str]:
        response = await client.get(
            API, params={**params, "sort": "name", "order": "asc"}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["items"]]

    assert await names() == ["Alice Smith", "Bob Stone", "Carol", "Dan 100%_off"]
    assert await names(status="approved") == ["Carol"]
    assert await names(status="pending") == ["Alice Smith", "Bob Stone", "Dan 100%_off"]
    assert await names(q="acme") == ["Alice Smith", "Carol"]  # company, any case
    assert await names(q="SMITH") == ["Alice Smith", "Dan 100%_off"]  # name and email
    assert await names(q="GLOBEX.IO") == ["Bob Stone"]
    assert await names(q="100%_") == ["Dan 100%_off"]  # wildcards are literal
    assert await names(q="%") == ["Dan 100%_off"]
    assert await names(min_score=60) == ["Alice Smith", "Carol", "Dan 100%_off"]
    assert await names(tag="eu") == ["Alice Smith", "Bob Stone"]
    assert await names(tag="VIP") == ["Alice Smith"]
    assert await names(tag="none") == []
    assert await names(tag="eu", min_score=50, q="alice") == ["Alice Smith"]
    bad = await client.get(API, params={"sort": "email"}, headers=user.headers)
    assert_problem(bad, 422, "validation-error")
    assert "sort" in field_errors(bad)
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"min_score": 101},
        {"min_score": -1},
        {"q": "x" * 201},
        {"created_after": "yesterday"},
    ):
        assert (await client.get(API, params=params, headers=user.headers)).status_code == 422, params


async def test_created_range(client: Client, users: UserFactory) -> None:
    user = await users.create()
    first = await _create(client, user, name="first")
    await asyncio.sleep(0.01)
    second = await _create(client, user, name="second")
    await asyncio.sleep(0.01)
    third = await _create(client, user, name="third")

    async def names(**params: Any) -> list[str]:
        response = await client.get(API, params={**params, "order": "asc"}, headers=user.headers)
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["items"]]

    assert await names(created_after=second["created_at"]) == ["second", "third"]  # inclusive
    assert await names(created_before=second["created_at"]) == ["first"]  # exclusive
    assert await names(created_after=first["created_at"], created_before=third["created_at"]) == [
        "first",
        "second",
    ]
    # Without an offset, times are taken as UTC.
    naive = dt.datetime.fromisoformat(second["created_at"].replace("Z", "+00:00")).replace(tzinfo=None)
    assert await names(created_after=naive.isoformat()) == ["second", "third"]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("created_at", "desc"),
        ("created_at", "asc"),
        ("fit_score", "desc"),
        ("fit_score", "asc"),
        ("name", "asc"),
        ("name", "desc"),
    ],
)
async def test_pages_cover_everything_once_in_order_despite_ties(
    client: Client, users: UserFactory, sort: str, order: str
) -> None:
    user = await users.create()
    # One bulk request shares one created_at; scores and names repeat: every sort has ties.
    scores = [50, 50, 50, 20, 20, 90, 90, 50, 0, 20, 90]
    names = ["kim", "lee", "kim", "ann", "kim", "lee", "ann", "zed", "kim", "lee", "ann"]
    created = await _bulk(
        client, user, [{"name": n, "fit_score": s} for n, s in zip(names, scores, strict=True)]
    )
    created += await _bulk(client, user, [{"name": "kim", "fit_score": 50}, {"name": "bob", "fit_score": 50}])
    ids_hex = {p["id"]: uuid.UUID(p["id"]).hex for p in created}
    expected = sorted(created, key=lambda p: (p[sort], ids_hex[p["id"]]), reverse=order == "desc")
    for limit in (1, 3, 5, 13, 50):
        seen = await _walk(client, user, limit, sort=sort, order=order)
        assert [p["id"] for p in seen] == [p["id"] for p in expected], limit


async def test_filtered_pages_with_a_tag(client: Client, users: UserFactory) -> None:
    user = await users.create()
    created = await _bulk(
        client,
        user,
        [{"name": f"n{i % 3}", "fit_score": i % 4, "tags": ["t"] if i % 2 else []} for i in range(15)],
    )
    tagged = [p for p in created if p["tags"]]
    expected = sorted(tagged, key=lambda p: (p["fit_score"], uuid.UUID(p["id"]).hex), reverse=True)
    seen = await _walk(client, user, 2, sort="fit_score", order="desc", tag="t")
    assert [p["id"] for p in seen] == [p["id"] for p in expected]


async def test_tampered_or_foreign_cursors_are_422(client: Client, users: UserFactory) -> None:
    user = await users.create()
    await _bulk(client, user, [{"name": f"n{i}"} for i in range(3)])
    page = (await client.get(API, params={"limit": 1, "sort": "name"}, headers=user.headers)).json()
    cursor = page["next_cursor"]
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    swapped = base64.urlsafe_b64encode(json.dumps([raw[0], raw[1], "not-a-uuid"]).encode()).decode()
    wrong_type = base64.urlsafe_b64encode(json.dumps(["fit_score:desc", "high", raw[2]]).encode()).decode()
    cases = [
        {"cursor": "!!!"},
        {"cursor": cursor[:-4] + "AAAA"},
        {"cursor": swapped, "sort": "name"},
        {"cursor": wrong_type, "sort": "fit_score"},
        {"cursor": cursor, "sort": "fit_score"},  # made for another sort
        {"cursor": cursor, "sort": "name", "order": "asc"},  # and another order
        {"cursor": "x" * 600},
    ]
    for params in cases:
        response = await client.get(API, params=params, headers=user.headers)
        assert_problem(response, 422, "validation-error", note=params)
        assert "cursor" in field_errors(response)
    ok = await client.get(API, params={"cursor": cursor, "sort": "name"}, headers=user.headers)
    assert ok.status_code == 200


# --- a failure after the change leaves neither the change nor its event ------------------------


async def test_failed_create_leaves_no_prospect_and_no_event(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    hook = install_failing_hook(app)
    hook.arm("prospect_added")
    assert_internal_error(
        await client.post(API, json={"name": "x", "email": "x@example.com"}, headers=user.headers)
    )
    bulk = await client.post(
        f"{API}/bulk", json={"items": [{"name": "a"}, {"name": "b"}]}, headers=user.headers
    )
    assert_internal_error(bulk)
    assert hook.seen == 2
    assert await _count(services, user.id) == 0
    assert await events_of(services, user.id) == []
    hook.arm()
    # Nothing was half-kept: the email is free and numbering starts at 1.
    created = await _create(client, user, email="x@example.com")
    (event,) = await events_of(services, user.id)
    assert (event.data["id"]) == (created["id"])


async def test_failed_update_delete_and_status_change_roll_back(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    prospect = await _create(client, user, notes="before")
    path = f"{API}/{prospect['id']}"
    hook = install_failing_hook(app)
    hook.arm("prospect_updated")
    assert_internal_error(await client.patch(path, json={"notes": "after"}, headers=user.headers))
    assert_internal_error(await client.delete(path, headers=user.headers))
    assert_internal_error(
        await client.post(
            f"{API}/bulk-status", json={"ids": [prospect["id"]], "status": "approved"}, headers=user.headers
        )
    )
    assert (await client.get(path, headers=user.headers)).json() == prospect
    assert [e.type for e in await events_of(services, user.id)] == ["prospect_added"]
