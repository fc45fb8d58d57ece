"""API keys: created and shown once, stored as a hash, listed, capped, expiring and revoked."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from aiclone.apikeys.models import ApiKey
from aiclone.apikeys.service import MAX_LIVE_KEYS_PER_USER
from aiclone.auth import keytext
from aiclone.auth.scopes import ApiScope
from aiclone.container import Services
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
PROBLEMS = "https://aiclone.dev/problems/"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: Client, user: SignedInUser, scopes: list[str], *, name: str = "ci", **extra: object
) -> dict[str, object]:
    response = await client.post(
        "/api/api-keys", json={"name": name, "scopes": scopes, **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def _row(services: Services, key_id: str) -> ApiKey:
    async with services.db.read_session() as session:
        return (await session.execute(select(ApiKey).where(ApiKey.id == uuid.UUID(key_id)))).scalar_one()


async def test_a_key_is_shown_once_and_stored_only_as_a_hash(
    client: Client, users: UserFactory, services: Services
) -> None:
    ann = await users.create()
    created = await create_key(client, ann, ["prospects:read", "prospects:write"], name="crm sync")
    key = str(created["key"])
    assert keytext.KEY_PATTERN.fullmatch(key), key
    assert created["prefix"] == key[: len("ack_") + 16]
    assert created["scopes"] == ["prospects:read", "prospects:write"]
    # 256 random bits of secret: two keys never share it.
    other = str((await create_key(client, ann, ["prospects:read"]))["key"])
    assert other.split("_")[1] != key.split("_")[1]

    row = await _row(services, str(created["id"]))
    assert row.secret_hash == keytext.hash_secret(key[len(created["prefix"]) + 1 :])  # type: ignore[arg-type]
    stored = " ".join(str(value) for value in vars(row).values())
    assert key not in stored
    assert key[len(str(created["prefix"])) + 1 :] not in stored

    listed = (await client.get("/api/api-keys", headers=ann.headers)).json()["items"]
    assert [item["id"] for item in listed] == [str(json["id"]) for json in ()] or len(listed) == 2
    first = next(item for item in listed if item["id"] == created["id"])
    assert set(first) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
    }
    assert first["name"] == "crm sync"
    assert key not in str(listed)

    me = await client.get("/api/auth/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(ann.id)


async def test_keys_are_per_user_and_revoked_at_once(client: Client, users: UserFactory) -> None:
    ann, bob = await users.create(), await users.create()
    created = await create_key(client, ann, ["prospects:read"])
    key = str(created["key"])
    assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200
    assert (await client.get("/api/api-keys", headers=bob.headers)).json()["items"] == []
    # Another user's key is a 404, and stays working.
    assert (await client.delete(f"/api/api-keys/{created['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200

    revoked = await client.delete(f"/api/api-keys/{created['id']}", headers=ann.headers)
    assert revoked.status_code == 204
    refused = await client.get("/api/prospects", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["type"] == PROBLEMS + "unauthenticated"
    assert (await client.get("/api/api-keys", headers=ann.headers)).json()["items"] == []
    assert (await client.delete(f"/api/api-keys/{created['id']}", headers=ann.headers)).status_code == 404


async def test_a_forged_or_malformed_key_is_refused(client: Client, users: UserFactory) -> None:
    ann = await users.create()
    key = str((await create_key(client, ann, ["prospects:read"]))["key"])
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in (forged, "ack_", "ack_" + "0" * 16 + "_short", f"ack_{'f' * 16}_{'x' * 43}"):
        response = await client.get("/api/prospects", headers=bearer(bad))
        assert response.status_code == 401, bad
        assert response.json()["type"] == PROBLEMS + "unauthenticated"


async def test_at_most_fifty_live_keys(client: Client, users: UserFactory, services: Services) -> None:
    ann = await users.create()
    now = dt.datetime.now(dt.UTC)
    async with services.db.session() as session:
        for n in range(MAX_LIVE_KEYS_PER_USER - 1):
            new = keytext.generate()
            session.add(
                ApiKey(
                    user_id=ann.id,
                    name=f"k{n}",
                    public_id=new.public_id,
                    secret_hash=new.secret_hash,
                    scopes="prospects:read",
                    created_at=now,
                )
            )
    last = await create_key(client, ann, ["prospects:read"])
    over = await client.post(
        "/api/api-keys", json={"name": "one more", "scopes": ["prospects:read"]}, headers=ann.headers
    )
    assert over.status_code == 409
    assert over.json()["type"] == PROBLEMS + "api-key-limit"
    # Revoking one makes room.
    assert (await client.delete(f"/api/api-keys/{last['id']}", headers=ann.headers)).status_code == 204
    await create_key(client, ann, ["prospects:read"])


async def test_a_key_expires(client: Client, users: UserFactory, services: Services) -> None:
    ann = await users.create()
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    created = await create_key(client, ann, ["prospects:read"], expires_at=soon)
    key = str(created["key"])
    assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200
    async with services.db.session() as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(str(created["id"])))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    await services.broker.start()  # PostgreSQL: the signal goes out through NOTIFY
    async with services.db.session() as session:
        await services.broker.signal_identity(session, ann.id)
    await _eventually_refused(client, key, "/api/prospects")
    response = await client.get("/api/prospects", headers=bearer(key))
    assert response.json()["detail"] == "The API key has expired."
    assert (await client.get("/api/api-keys", headers=ann.headers)).json()["items"] == []
    past = await client.post(
        "/api/api-keys",
        json={"name": "x", "scopes": ["prospects:read"], "expires_at": "2020-01-01T00:00:00Z"},
        headers=ann.headers,
    )
    assert past.status_code == 422
    assert past.json()["type"] == PROBLEMS + "validation-error"


async def _eventually_refused(client: Client, key: str, path: str, *, within: float = 1.0) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        response = await client.get(path, headers=bearer(key))
        if response.status_code == 401:
            return loop.time() - started
        assert loop.time() - started < within, "still accepted"
        await asyncio.sleep(0.02)


async def test_bad_requests_are_problems(client: Client, users: UserFactory) -> None:
    ann = await users.create()
    for body in (
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["prospects:read"]},
        {"name": "x", "scopes": ["prospects:delete"]},
        {"name": "x", "scopes": ["prospects:read"], "extra": 1},
        {"name": "x" * 101, "scopes": ["prospects:read"]},
    ):
        response = await client.post("/api/api-keys", json=body, headers=ann.headers)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.json()["type"].startswith(PROBLEMS), body


async def test_admin_only_scopes(client: Client, users: UserFactory) -> None:
    ann, admin = await users.create(), await users.create(admin=True)
    for scope in ("admin", "metrics:read"):
        refused = await client.post(
            "/api/api-keys", json={"name": "x", "scopes": [scope]}, headers=ann.headers
        )
        assert refused.status_code == 403
        assert refused.json()["type"] == PROBLEMS + "admin-scope-refused"
        assert scope in refused.json()["detail"]
    admin_key = str((await create_key(client, admin, ["admin", "metrics:read"]))["key"])
    assert (await client.get("/api/admin/users", headers=bearer(admin_key))).status_code == 200
    metrics = await client.get("/metrics", headers=bearer(admin_key))
    assert metrics.status_code == 200
    assert "aiclone" in metrics.text
    # Without metrics:read even an admin's key cannot scrape.
    plain = str((await create_key(client, admin, ["admin"]))["key"])
    missing = await client.get("/metrics", headers=bearer(plain))
    assert missing.status_code == 403
    assert missing.json()["required_scope"] == "metrics:read"


async def test_a_demoted_admins_key_loses_admin_routes(client: Client, users: UserFactory) -> None:
    admin, other = await users.create(admin=True), await users.create(admin=True)
    key = str((await create_key(client, admin, ["admin", "prospects:read"]))["key"])
    assert (await client.get("/api/admin/users", headers=bearer(key))).status_code == 200
    demoted = await client.patch(f"/api/admin/users/{admin.id}", json={"role": "user"}, headers=other.headers)
    assert demoted.status_code == 200, demoted.text
    refused = await client.get("/api/admin/users", headers=bearer(key))
    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEMS + "forbidden"
    assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200


async def test_deactivation_revokes_keys_and_a_password_change_does_not(
    client: Client, users: UserFactory
) -> None:
    ann, admin = await users.create(), await users.create(admin=True)
    created = await create_key(client, ann, ["prospects:read"])
    key = str(created["key"])
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": ann.password, "new_password": "another long passphrase 77"},
        headers=ann.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (await client.delete("/api/auth/sessions", headers=ann.headers)).status_code == 204
    assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200

    off = await client.patch(f"/api/admin/users/{ann.id}", json={"is_active": False}, headers=admin.headers)
    assert off.status_code == 200
    assert_problem(await client.get("/api/prospects", headers=bearer(key)), 401, "unauthenticated")
    on = await client.patch(f"/api/admin/users/{ann.id}", json={"is_active": True}, headers=admin.headers)
    assert on.status_code == 200
    # Revoked for good: a reactivated account starts without machine credentials.
    assert_problem(await client.get("/api/prospects", headers=bearer(key)), 401, "unauthenticated")


async def test_admins_list_and_revoke_any_users_keys(client: Client, users: UserFactory) -> None:
    ann, admin = await users.create(), await users.create(admin=True)
    created = await create_key(client, ann, ["prospects:read"])
    key = str(created["key"])
    assert_problem(
        await client.get(f"/api/admin/users/{ann.id}/api-keys", headers=ann.headers), 403, "forbidden"
    )
    listed = await client.get(f"/api/admin/users/{ann.id}/api-keys", headers=admin.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert (
        await client.get(f"/api/admin/users/{uuid.uuid4()}/api-keys", headers=admin.headers)
    ).status_code == 404
    revoked = await client.delete(
        f"/api/admin/users/{ann.id}/api-keys/{created['id']}", headers=admin.headers
    )
    assert revoked.status_code == 204
    assert_problem(await client.get("/api/prospects", headers=bearer(key)), 401, "unauthenticated")


async def test_key_management_needs_a_signed_in_session(client: Client, users: UserFactory) -> None:
    ann, admin = await users.create(), await users.create(admin=True)
    created = await create_key(
        client, ann, [scope.value for scope in ApiScope if scope not in ("admin", "metrics:read")]
    )
    key = str(created["key"])
    admin_key = str((await create_key(client, admin, [scope.value for scope in ApiScope]))["key"])
    calls = [
        ("POST", "/api/api-keys", {"name": "x", "scopes": ["prospects:read"]}),
        ("GET", "/api/api-keys", None),
        ("DELETE", f"/api/api-keys/{created['id']}", None),
        ("POST", "/api/auth/password", {"current_password": ann.password, "new_password": "x" * 20}),
        ("GET", "/api/auth/sessions", None),
        ("DELETE", "/api/auth/sessions", None),
        ("POST", "/api/auth/logout", None),
        ("PATCH", "/api/auth/me", {"full_name": "Mallory"}),
        ("DELETE", "/api/auth/me", {"password": ann.password}),
        ("GET", "/api/auth/me/export", None),
        ("POST", "/api/events/cookie", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=bearer(key))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"] == PROBLEMS + "session-required", (method, path)
    for method, path in (
        ("GET", f"/api/admin/users/{ann.id}/api-keys"),
        ("DELETE", f"/api/admin/users/{ann.id}/api-keys/{created['id']}"),
    ):
        response = await client.request(method, path, headers=bearer(admin_key))
        assert response.status_code == 403, (method, path)
        assert response.json()["type"] == PROBLEMS + "session-required"
    # Nothing happened: the key and the account are as they were.
    assert (await client.get("/api/auth/me", headers=bearer(key))).json()["full_name"] == "Test User"
    assert len((await client.get("/api/api-keys", headers=ann.headers)).json()["items"]) == 1


@pytest.mark.parametrize("name", ["api_key", "access_token", "q"])
async def test_a_key_in_the_url_is_refused(client: Client, users: UserFactory, name: str) -> None:
    ann = await users.create()
    key = str((await create_key(client, ann, ["prospects:read"]))["key"])
    for path in (f"/api/prospects?{name}={key}", f"/api/events?{name}={key}", f"/health?{name}={key}"):
        response = await client.get(path)
        assert response.status_code == 400, path
        body = response.json()
        assert body["type"] == PROBLEMS + "api-key-in-url"
        assert "revoke" in body["detail"]
        assert key not in response.text
    # Even with a valid header beside it.
    response = await client.get(f"/api/prospects?{name}={key}", headers=bearer(key))
    assert response.status_code == 400


async def test_a_key_never_reaches_the_logs(
    client: Client, users: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    ann = await users.create()
    key = str((await create_key(client, ann, ["prospects:read"]))["key"])
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    with caplog.at_level(logging.DEBUG):
        await client.get("/api/prospects", headers=bearer(key))
        await client.get("/api/prospects", headers=bearer(forged))
        await client.get(f"/api/prospects?api_key={key}")
        await client.get(f"/api/prospects?q={key}")
        await client.get(f"/api/no-such-path/{key}")
        await client.post("/api/prospects", headers=bearer(key), json={"name": "x"})
    text = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    assert caplog.records, "nothing was logged: the assertion below would prove nothing"
    # ack_<16 hex>_<43 characters of URL-safe base64, which may hold "_" themselves>
    secret = key.split("_", 2)[2]
    assert len(secret) == 43
    assert secret not in text
    assert forged.split("_", 2)[2] not in text
    assert not re.search(r"ack_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}", text)


async def test_last_use_is_recorded_at_most_once_a_minute(
    client: Client, users: UserFactory, services: Services, app: Litestar
) -> None:
    ann = await users.create()
    created = await create_key(client, ann, ["prospects:read"])
    key = str(created["key"])
    usage = app.state.services.key_usage
    assert (await _row(services, str(created["id"]))).last_used_at is None
    for _ in range(20):
        assert (await client.get("/api/prospects", headers=bearer(key))).status_code == 200
    await _settle(usage)
    assert usage.writes == 1
    row = await _row(services, str(created["id"]))
    assert row.last_used_at is not None
    assert row.last_used_ip
    listed = (await client.get("/api/api-keys", headers=ann.headers)).json()["items"][0]
    assert listed["last_used_at"] is not None
    assert listed["last_used_ip"] == row.last_used_ip
    # A minute later (the throttle's clock moved on) the next use writes again.
    usage._written = {k: v - 61 for k, v in usage._written.items()}
    await client.get("/api/prospects", headers=bearer(key))
    await _settle(usage)
    assert usage.writes == 2


async def _settle(usage: object) -> None:
    for _ in range(100):
        if not usage._tasks:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.02)
